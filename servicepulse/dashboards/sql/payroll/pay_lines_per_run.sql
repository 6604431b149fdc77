SELECT
    run_id,
    count() AS pay_lines
FROM payroll_lines FINAL
WHERE run_id IN (SELECT run_id FROM payroll_runs FINAL WHERE status = 'closed' AND $__timeFilter(occurred_at))
GROUP BY run_id
ORDER BY pay_lines DESC, run_id
LIMIT 50
