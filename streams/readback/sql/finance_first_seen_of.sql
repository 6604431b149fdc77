-- The first posting date of these suppliers, per company (all history), as finance_first_seen.sql.
SELECT company, counterparty_id, min(posting_date)
FROM invoice_postings
WHERE kind IN ('supplier_invoice', 'outgoing_payment') AND counterparty_id IS NOT NULL
  AND (company, assumeNotNull(counterparty_id)) IN {suppliers:Array(Tuple(String, String))}
GROUP BY company, counterparty_id
