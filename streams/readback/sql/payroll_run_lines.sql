-- Every line of the run, in Line's field order (the columns already have Line's types).
SELECT event_id, line_no, employee_id, pay_type, category, amount_ore, quantity, unit_price_ore,
       work_date, period_from, period_to, pay_type_name
FROM payroll_lines FINAL
WHERE customer = {customer:String} AND run_id = {run_id:String}
ORDER BY line_no
