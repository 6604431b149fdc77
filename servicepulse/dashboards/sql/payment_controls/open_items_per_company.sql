-- Open 9894 items now per company: count, open amount in SEK, age in working days, and how many are older than
-- the gl.suspense_aged limit (from the parameters file).
SELECT company, count() AS open_items, sum(amount_ore) / 100 AS open_sek,
       max(age_working_days) AS max_age_days, round(avg(age_working_days), 1) AS mean_age_days,
       countIf(age_working_days > {{gl.suspense_aged:max_working_days}}) AS aged
FROM v_suspense_open_items
WHERE account IN (SELECT account FROM finance_suspense_accounts FINAL WHERE role = 'unidentified')
GROUP BY company
ORDER BY company
