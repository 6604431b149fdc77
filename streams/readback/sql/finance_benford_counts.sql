-- ap.benford's populations, aggregated in ClickHouse: per company and supplier id (NULL: none), the supplier
-- invoices of the review window at or above min_amount: how many, per first digit (index 1 = digit 0), and
-- the posting-date range. companies empty: every company.
-- A supplier with fewer than min_count such invoices is never judged on its own, only within its company's
-- population (the sum of the company's rows): its counts are folded into the company's row without a supplier
-- (NULL, as invoices without one), which leaves every population judged exactly as before, in far fewer rows.
SELECT company, if(n >= {min_count:Int64}, counterparty_id, NULL) AS supplier, sum(n),
       sum(d0), sum(d1), sum(d2), sum(d3), sum(d4), sum(d5), sum(d6), sum(d7), sum(d8), sum(d9),
       min(first), max(last)
FROM (
    SELECT company, counterparty_id, count() AS n,
           countIf(d = 0) AS d0, countIf(d = 1) AS d1, countIf(d = 2) AS d2, countIf(d = 3) AS d3,
           countIf(d = 4) AS d4, countIf(d = 5) AS d5, countIf(d = 6) AS d6, countIf(d = 7) AS d7,
           countIf(d = 8) AS d8, countIf(d = 9) AS d9, min(posting_date) AS first, max(posting_date) AS last
    FROM (
        SELECT company, counterparty_id, posting_date, toUInt8(substring(toString(abs(amount_ore)), 1, 1)) AS d
        FROM invoice_postings FINAL
        WHERE kind = 'supplier_invoice' AND posting_date >= {newest:Date} - {lookback:Int32}
          AND abs(amount_ore) >= {min_amount:Int64}
          AND (empty({companies:Array(String)}) OR has({companies:Array(String)}, toString(company)))
    )
    GROUP BY company, counterparty_id
)
GROUP BY company, supplier
