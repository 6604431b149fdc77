-- Open items on the unidentified-payments account (9894) today, per company, with their age in working days.
SELECT company, count() AS open_items, sum(amount_ore) AS open_ore,
       max(age_working_days) AS max_age_days, avg(age_working_days) AS mean_age_days,
       countIf(age_working_days > {aged_days:Int64}) AS aged
FROM v_suspense_open_items
WHERE account IN (SELECT account FROM finance_suspense_accounts FINAL WHERE role = 'unidentified')
  AND ({customer:String} = '' OR company = {customer:String})
GROUP BY company
ORDER BY company
