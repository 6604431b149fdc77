-- Cases opened in the period per type and month: closed, closed by the deadline, still open past it.
SELECT formatDateTime(opened_at, '%Y-%m') AS month, case_type,
       count() AS opened,
       countIf(closed_at IS NOT NULL) AS closed,
       countIf(closed_in_time) AS closed_in_time,
       countIf(closed_at IS NULL AND due_at < now64(3)) AS open_overdue
FROM v_report_case_deadlines
WHERE toDate(opened_at) >= {start:Date} AND toDate(opened_at) < {end:Date}
  AND ({customer:String} = '' OR customer = {customer:String})
GROUP BY month, case_type
ORDER BY case_type, month
