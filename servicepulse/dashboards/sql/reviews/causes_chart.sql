-- Errors per cause over the months of the selected range, most frequent first.
SELECT label_sv AS cause_label_sv, sum(errors) AS errors
FROM v_error_causes_monthly
WHERE month >= formatDateTime(toDate($__fromTime, 'Europe/Stockholm'), '%Y-%m')
  AND month <= formatDateTime(toDate($__toTime, 'Europe/Stockholm'), '%Y-%m')
GROUP BY label_sv
ORDER BY errors DESC, label_sv
