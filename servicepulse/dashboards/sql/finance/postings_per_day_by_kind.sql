SELECT
    toDateTime(posting_date, 'Europe/Stockholm') AS time,
    kind,
    count() AS postings
FROM invoice_postings FINAL
WHERE $__dateFilter(posting_date)
GROUP BY time, kind
ORDER BY time, kind
