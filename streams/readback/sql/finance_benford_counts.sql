-- ap.benford's populations, aggregated in ClickHouse: per company and supplier id (NULL: none), the supplier
-- invoices of the review window at or above min_amount: how many, per first digit (index 1 = digit 0), and
-- the posting-date range. companies empty: every company.
SELECT company, counterparty_id, count(),
       countIf(d = 0), countIf(d = 1), countIf(d = 2), countIf(d = 3), countIf(d = 4), countIf(d = 5),
       countIf(d = 6), countIf(d = 7), countIf(d = 8), countIf(d = 9), min(posting_date), max(posting_date)
FROM (
    SELECT company, counterparty_id, posting_date, toUInt8(substring(toString(abs(amount_ore)), 1, 1)) AS d
    FROM invoice_postings FINAL
    WHERE kind = 'supplier_invoice' AND posting_date >= {newest:Date} - {lookback:Int32}
      AND abs(amount_ore) >= {min_amount:Int64}
      AND (empty({companies:Array(String)}) OR has({companies:Array(String)}, toString(company)))
)
GROUP BY company, counterparty_id
