-- Gross and net per employee of one run.
SELECT employee_id, sumIf(amount_ore, category = 'gross'), sumIf(amount_ore, category = 'net')
FROM payroll_lines FINAL
WHERE customer = {customer:String} AND run_id = {run_id:String}
GROUP BY employee_id
