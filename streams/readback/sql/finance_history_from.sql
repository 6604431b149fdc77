-- The oldest customer invoice of the review window (its date is where the invoice history begins): the
-- event id and date, and its company and account (with them, its sorting key). Exact without FINAL: the date
-- is part of the sorting key, versions never differ in it.
SELECT argMin(event_id, (posting_date, event_id)), min(posting_date),
       argMin(toString(company), (posting_date, event_id)), argMin(toString(account), (posting_date, event_id))
FROM invoice_postings
WHERE kind = 'customer_invoice' AND posting_date >= {newest:Date} - {horizon:Int32}
