SELECT ifNull(sum(line_count), 0) AS pay_lines
FROM payroll_runs FINAL
WHERE status = 'closed' AND $__timeFilter(occurred_at)
