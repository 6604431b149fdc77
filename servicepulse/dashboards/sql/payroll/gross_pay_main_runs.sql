SELECT ifNull(sum(gross_ore), 0) / 100 AS gross_sek
FROM payroll_runs FINAL
WHERE status = 'closed' AND $__timeFilter(occurred_at)
  AND kind = 'main'
