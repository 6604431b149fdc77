SELECT count() AS urgent_runs
FROM payroll_runs FINAL
WHERE status = 'closed' AND $__timeFilter(occurred_at)
  AND kind = 'urgent'
