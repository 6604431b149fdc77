-- Items opened on the unidentified-payments account (9894) per company and month, in the period and in the
-- same period a year earlier: the counting of v_suspense_yearly (vouchers opening an item), per period.
SELECT company, formatDateTime(opened_on, '%Y-%m') AS month,
       opened_on >= {start:Date} AS current, count() AS postings
FROM v_suspense_items
WHERE account IN (SELECT account FROM finance_suspense_accounts FINAL WHERE role = 'unidentified')
  AND ((opened_on >= {start:Date} AND opened_on < {end:Date})
       OR (opened_on >= {previous_start:Date} AND opened_on < {previous_end:Date}))
  AND ({customer:String} = '' OR company = {customer:String})
GROUP BY company, month, current
ORDER BY company, month
