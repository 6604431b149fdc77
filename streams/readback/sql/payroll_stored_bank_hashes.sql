-- The stored bank-account hashes of these employees: a differing new hash is a bank-account change.
SELECT employee_id, bank_hash, previous_bank_hash, bank_changed_on
FROM payroll_people_restricted FINAL
WHERE employee_id IN {ids:Array(String)}
