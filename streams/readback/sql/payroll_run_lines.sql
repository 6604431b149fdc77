-- One slice of the run's lines (by employee: a line's duplicates share its slice, so FINAL is exact per slice),
-- in Line's field order (the columns already have Line's types). The store materialises a result before it
-- sends it: a run read in slices keeps the store's memory flat in the run's size.
SELECT event_id, line_no, employee_id, pay_type, category, amount_ore, quantity, unit_price_ore,
       work_date, period_from, period_to, pay_type_name
FROM payroll_lines FINAL
WHERE customer = {customer:String} AND run_id = {run_id:String}
  AND cityHash64(employee_id) % {slices:UInt32} = {slice:UInt32}
ORDER BY line_no
