-- The master data the rules need of the run's employees: never personnummer or names.
SELECT employee_id, protected, birth_date, employed_from, employed_to, bank_hash, previous_bank_hash,
       bank_changed_on
FROM payroll_people_restricted FINAL
WHERE employee_id IN (SELECT DISTINCT employee_id FROM payroll_lines
                      WHERE customer = {customer:String} AND run_id = {run_id:String})
