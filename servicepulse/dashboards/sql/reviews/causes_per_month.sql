-- Errors found in review per cause and month (v_error_causes_monthly) for the months of the selected range.
SELECT month, tertial, cause AS cause_code, label_sv AS cause_label_sv, findings, samples, errors
FROM v_error_causes_monthly
WHERE month >= formatDateTime(toDate($__fromTime, 'Europe/Stockholm'), '%Y-%m')
  AND month <= formatDateTime(toDate($__toTime, 'Europe/Stockholm'), '%Y-%m')
ORDER BY month, errors DESC, cause
