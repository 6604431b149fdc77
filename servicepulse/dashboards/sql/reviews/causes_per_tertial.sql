-- Errors per cause and tertial over the months of the selected range.
SELECT tertial, cause_label_sv, sum(errors) AS errors
FROM v_error_causes_monthly
WHERE month >= toStartOfMonth(toDate($__fromTime, 'Europe/Stockholm'))
  AND month <= toDate($__toTime, 'Europe/Stockholm')
GROUP BY tertial, cause_label_sv
ORDER BY tertial, errors DESC, cause_label_sv
