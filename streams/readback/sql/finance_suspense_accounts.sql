-- The suspense accounts followed (v_suspense_lines reads the same table): the finance review reads the open
-- items again when a new posting is on one of them or when the set changes.
SELECT account FROM finance_suspense_accounts FINAL ORDER BY account
