-- The postings of the review window, counted back from newest: lookback days of supplier invoices and
-- payments, horizon days of customer invoices (so 'no open invoice' is claimed only with history behind it).
-- Selects every field of InvoicePosting; finance_review checks the column names against the model.
SELECT event_id, kind, company, account, amount_ore, currency, posting_date, document_date, due_date,
       voucher_series, voucher_number, counterparty_id, counterparty_name, invoice_number, reference, text,
       registered_by, approved_by, recorded_at, source
FROM invoice_postings FINAL
WHERE kind IN ('supplier_invoice', 'incoming_payment', 'outgoing_payment')
  AND posting_date >= {newest:Date} - {lookback:Int32}
UNION ALL
SELECT event_id, kind, company, account, amount_ore, currency, posting_date, document_date, due_date,
       voucher_series, voucher_number, counterparty_id, counterparty_name, invoice_number, reference, text,
       registered_by, approved_by, recorded_at, source
FROM invoice_postings FINAL
WHERE kind = 'customer_invoice' AND posting_date >= {newest:Date} - {horizon:Int32}
