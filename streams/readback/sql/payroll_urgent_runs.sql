-- The closed urgent runs of a customer and period, with how many employees each paid.
SELECT r.run_id, r.customer, r.period, r.pay_date, r.payment_channel, r.net_ore, l.n
FROM (SELECT * FROM payroll_runs FINAL
      WHERE customer = {customer:String} AND period = {period:String} AND kind = 'urgent' AND status = 'closed') AS r
LEFT JOIN (SELECT run_id, uniqExact(employee_id) AS n FROM payroll_lines
           WHERE customer = {customer:String}
             AND run_id IN (SELECT run_id FROM payroll_runs
                            WHERE customer = {customer:String} AND period = {period:String} AND kind = 'urgent')
           GROUP BY run_id) AS l
ON r.run_id = l.run_id
ORDER BY r.run_id
