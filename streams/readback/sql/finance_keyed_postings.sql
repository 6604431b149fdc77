-- The postings of the review window that the given keys touch, each with the rules it is read for:
-- lu  bank.likely_unidentified: customer invoices and incoming payments of (company, reference without blanks),
--     plus the window's oldest customer invoice (the start of the invoice history);
-- dup ap.duplicate_payment: outgoing payments of (company, amount);
-- spl ap.split_invoice: supplier invoices of (company, document day, approver);
-- sup ap.new_supplier_four_eyes: supplier invoices and outgoing payments of (company, supplier id);
-- ref ar.refund_limit: these event ids.
-- Window bounds as in finance_window_postings.sql (customer invoices: horizon days, the rest: lookback days).
-- Only the candidate rows are read: the postings whose sorting key finance_posting_keys lists under the touched
-- keys (rule, company, key), plus the given postings by their own sorting key (own: the new postings and the
-- window's oldest customer invoice); both lookups go by a primary key, never through the whole window. The
-- flags are then computed on the FINAL row, so a stale key of an older version selects nothing.
SELECT * FROM (
    SELECT event_id, kind, company, account, amount_ore, currency, posting_date, document_date, due_date,
           voucher_series, voucher_number, counterparty_id, counterparty_name, invoice_number, reference, text,
           registered_by, approved_by, recorded_at, source,
           kind IN ('customer_invoice', 'incoming_payment')
             AND ((company, replaceRegexpAll(coalesce(reference, ''), '\\s', '')) IN {refs:Array(Tuple(String, String))}
                  OR (kind = 'customer_invoice' AND event_id = {first_invoice:String}
                      AND posting_date = {history_from:Date})) AS lu,
           kind = 'outgoing_payment' AND (company, abs(amount_ore)) IN {amounts:Array(Tuple(String, Int64))} AS dup,
           kind = 'supplier_invoice' AND (company, coalesce(document_date, posting_date), coalesce(approved_by, ''))
             IN {days:Array(Tuple(String, Date, String))} AS spl,
           kind IN ('supplier_invoice', 'outgoing_payment')
             AND (company, coalesce(counterparty_id, '')) IN {suppliers:Array(Tuple(String, String))} AS sup,
           event_id IN {ids:Array(String)} AS ref
    FROM invoice_postings FINAL
    WHERE ((company, account, posting_date, event_id) IN (
               SELECT company, account, posting_date, event_id
               FROM finance_posting_keys
               WHERE (rule, company, key) IN {rule_keys:Array(Tuple(String, String, String))}
                 AND posting_date >= {newest:Date} - {horizon:Int32})
           OR (company, account, posting_date, event_id) IN {own:Array(Tuple(String, String, Date, String))})
      AND ((kind IN ('supplier_invoice', 'incoming_payment', 'outgoing_payment')
           AND posting_date >= {newest:Date} - {lookback:Int32})
           OR (kind = 'customer_invoice' AND posting_date >= {newest:Date} - {horizon:Int32}))
)
WHERE lu OR dup OR spl OR sup OR ref
