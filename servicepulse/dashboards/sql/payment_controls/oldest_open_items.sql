-- The oldest open 9894 items now (vouchers, no personal data).
SELECT company, voucher, amount_ore / 100 AS amount_sek, opened_on, age_working_days
FROM v_suspense_open_items
WHERE account IN (SELECT account FROM finance_suspense_accounts FINAL WHERE role = 'unidentified')
ORDER BY age_working_days DESC, company, voucher
LIMIT 100
