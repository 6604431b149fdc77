-- Errors per cause and tertial over the months of the selected range.
SELECT tertial, label_sv AS cause_label_sv, sum(errors) AS errors
FROM v_error_causes_monthly
WHERE month >= formatDateTime(toDate($__fromTime, 'Europe/Stockholm'), '%Y-%m')
  AND month <= formatDateTime(toDate($__toTime, 'Europe/Stockholm'), '%Y-%m')
GROUP BY tertial, label_sv
ORDER BY tertial, errors DESC, label_sv
