SELECT
    toDateTime(posting_date, 'Europe/Stockholm') AS time,
    company,
    count() AS postings
FROM invoice_postings FINAL
WHERE $__dateFilter(posting_date)
  AND account = '9894' AND amount_ore < 0
GROUP BY time, company
ORDER BY time, company
