SELECT
    toStartOfDay(occurred_at) AS time,
    customer,
    count() AS urgent_runs
FROM payroll_runs FINAL
WHERE status = 'closed' AND $__timeFilter(occurred_at)
  AND kind = 'urgent'
GROUP BY time, customer
ORDER BY time, customer
