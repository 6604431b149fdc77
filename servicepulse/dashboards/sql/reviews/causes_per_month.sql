-- Errors found in review per cause and month (v_error_causes_monthly) for the months of the selected range.
SELECT month, tertial, cause_code, cause_label_sv, errors
FROM v_error_causes_monthly
WHERE month >= toStartOfMonth(toDate($__fromTime, 'Europe/Stockholm'))
  AND month <= toDate($__toTime, 'Europe/Stockholm')
ORDER BY month, errors DESC, cause_code
