-- Samples (stickprov) drawn from main payroll runs paid in the period, per method.
SELECT s.method AS method, count() AS samples, uniqExact(s.run_id) AS runs,
       sum(length(s.documents)) AS documents
FROM payroll_samples AS s FINAL
INNER JOIN (SELECT DISTINCT run_id, customer, pay_date FROM payroll_runs FINAL WHERE kind = 'main') AS r
    ON r.run_id = s.run_id
WHERE r.pay_date >= {start:Date} AND r.pay_date < {end:Date}
  AND ({customer:String} = '' OR r.customer = {customer:String})
GROUP BY method
ORDER BY method
