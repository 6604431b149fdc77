-- The postings of the review window that a rule can use, each with the rules it is read for (the first pass
-- of a leader, or after the window moved). Pure filters: each flag keeps a superset of what its rule reads
-- (the rule re-checks every condition in Python), so the findings are those of the whole window.
-- lu  bank.likely_unidentified: every incoming payment; the customer invoices whose (company, reference
--     without blanks) an incoming payment of the window shares; the window's oldest customer invoice;
-- dup ap.duplicate_payment: outgoing payments whose (company, amount) another outgoing payment shares;
-- spl ap.split_invoice: supplier invoices (gross > 0, approved) of a (company, document day, approver) with
--     two or more such invoices together above approval_limit;
-- sup ap.new_supplier_four_eyes: supplier invoices and outgoing payments of suppliers first seen (all
--     history) on or after the window start minus new_days;
-- ref ar.refund_limit: customer credit notes and outgoing payments from the customer ledger.
-- The sub-selects read the raw table without FINAL: a version stored twice can only add to them, a superset.
SELECT * FROM (
    SELECT event_id, kind, company, account, amount_ore, currency, posting_date, document_date, due_date,
           voucher_series, voucher_number, counterparty_id, counterparty_name, invoice_number, reference, text,
           registered_by, approved_by, recorded_at, source,
           kind = 'incoming_payment'
             OR (kind = 'customer_invoice'
                 AND ((company, replaceRegexpAll(coalesce(reference, ''), '\\s', '')) IN (
                          SELECT company, replaceRegexpAll(coalesce(reference, ''), '\\s', '')
                          FROM invoice_postings
                          WHERE kind = 'incoming_payment' AND posting_date >= {newest:Date} - {lookback:Int32})
                      OR (event_id = {first_invoice:String} AND posting_date = {history_from:Date}))) AS lu,
           kind = 'outgoing_payment' AND (company, abs(amount_ore)) IN (
               SELECT company, abs(amount_ore)
               FROM invoice_postings
               WHERE kind = 'outgoing_payment' AND posting_date >= {newest:Date} - {lookback:Int32}
               GROUP BY company, abs(amount_ore)
               HAVING count() > 1) AS dup,
           kind = 'supplier_invoice' AND amount_ore < 0 AND coalesce(approved_by, '') != ''
             AND (company, coalesce(document_date, posting_date), coalesce(approved_by, '')) IN (
                 SELECT company, coalesce(document_date, posting_date), coalesce(approved_by, '')
                 FROM invoice_postings
                 WHERE kind = 'supplier_invoice' AND posting_date >= {newest:Date} - {lookback:Int32}
                   AND amount_ore < 0 AND coalesce(approved_by, '') != ''
                 GROUP BY company, coalesce(document_date, posting_date), coalesce(approved_by, '')
                 HAVING count() > 1 AND sum(-amount_ore) > {approval_limit:Int64}) AS spl,
           kind IN ('supplier_invoice', 'outgoing_payment') AND counterparty_id IS NOT NULL
             AND (company, assumeNotNull(counterparty_id)) IN (
                 SELECT company, assumeNotNull(counterparty_id)
                 FROM invoice_postings
                 WHERE kind IN ('supplier_invoice', 'outgoing_payment') AND counterparty_id IS NOT NULL
                 GROUP BY company, counterparty_id
                 HAVING min(posting_date) >= {newest:Date} - {lookback:Int32} - {new_days:Int32}) AS sup,
           (kind = 'customer_invoice' AND amount_ore < 0) OR (kind = 'outgoing_payment' AND account = '1510') AS ref
    FROM invoice_postings FINAL
    WHERE (kind IN ('supplier_invoice', 'incoming_payment', 'outgoing_payment')
           AND posting_date >= {newest:Date} - {lookback:Int32})
       OR (kind = 'customer_invoice' AND posting_date >= {newest:Date} - {horizon:Int32})
)
WHERE lu OR dup OR spl OR sup OR ref
