-- Errors per cause over the months of the selected range, most frequent first.
SELECT cause_label_sv, sum(errors) AS errors
FROM v_error_causes_monthly
WHERE month >= toStartOfMonth(toDate($__fromTime, 'Europe/Stockholm'))
  AND month <= toDate($__toTime, 'Europe/Stockholm')
GROUP BY cause_label_sv
ORDER BY errors DESC, cause_label_sv
