-- The first posting date of every supplier, per company (all history: a supplier is new only once).
SELECT company, counterparty_id, min(posting_date)
FROM invoice_postings
WHERE kind IN ('supplier_invoice', 'outgoing_payment') AND counterparty_id IS NOT NULL
GROUP BY company, counterparty_id
