-- How many lines of the run are stored so far.
SELECT count()
FROM payroll_lines FINAL
WHERE customer = {customer:String} AND run_id = {run_id:String}
