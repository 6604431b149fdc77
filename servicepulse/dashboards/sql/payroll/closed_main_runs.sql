SELECT
    r.run_id AS run_id,
    r.customer AS customer,
    r.period AS period,
    r.pay_date AS pay_date,
    r.line_count AS header_lines,
    l.lines AS lines_received,
    toInt64(ifNull(l.lines, 0)) - toInt64(ifNull(r.line_count, 0)) AS line_difference,
    r.gross_ore / 100 AS gross_sek,
    r.net_ore / 100 AS net_sek,
    r.occurred_at AS closed_at
FROM
(
    SELECT run_id, customer, period, pay_date, line_count, gross_ore, net_ore, occurred_at
    FROM payroll_runs FINAL
    WHERE status = 'closed' AND $__timeFilter(occurred_at)
      AND kind = 'main'
) AS r
LEFT JOIN
(
    SELECT run_id, count() AS lines
    FROM payroll_lines FINAL
    WHERE run_id IN (SELECT run_id FROM payroll_runs FINAL WHERE status = 'closed' AND $__timeFilter(occurred_at) AND kind = 'main')
    GROUP BY run_id
) AS l ON l.run_id = r.run_id
ORDER BY closed_at DESC
