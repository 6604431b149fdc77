-- Open items on the unidentified-payments account(s) now (v_suspense_open_items, cleared as in 0200).
SELECT count() AS open_items
FROM v_suspense_open_items
WHERE account IN (SELECT account FROM finance_suspense_accounts FINAL WHERE role = 'unidentified')
