SELECT count() AS closed_runs
FROM payroll_runs FINAL
WHERE status = 'closed' AND $__timeFilter(occurred_at)
