-- The customer's closed main run paid before pay_date, other than the run itself.
SELECT run_id
FROM payroll_runs FINAL
WHERE customer = {customer:String} AND kind = 'main' AND status = 'closed'
  AND pay_date < {pay_date:Date} AND run_id != {run_id:String}
ORDER BY pay_date DESC, run_id DESC
LIMIT 1
