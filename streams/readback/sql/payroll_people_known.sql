-- Which of these employees have master data in the restricted table (employment end, bank account, birth date).
SELECT DISTINCT employee_id
FROM payroll_people_restricted FINAL
WHERE employee_id IN {ids:Array(String)}
