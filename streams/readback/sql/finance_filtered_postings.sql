-- The postings of the review window that a rule can use, each with the rules it is read for (the first pass
-- of a leader, or after the window moved). Pure filters: each flag keeps a superset of what its rule reads
-- (the rule re-checks every condition in Python), so the findings are those of the whole window.
-- lu  bank.likely_unidentified: the customer invoices and incoming payments of the reference groups that hold a
--     candidate payment (see below), and the window's oldest customer invoice (where the invoice history begins);
-- dup ap.duplicate_payment: outgoing payments whose (company, amount) another outgoing payment shares;
-- spl ap.split_invoice: supplier invoices (gross > 0, approved) of a (company, document day, approver) with
--     two or more such invoices together above approval_limit;
-- sup ap.new_supplier_four_eyes: supplier invoices and outgoing payments of suppliers first seen (all
--     history) on or after the window start minus new_days;
-- ref ar.refund_limit: customer credit notes and outgoing payments from the customer ledger.
-- The sub-selects read the raw table without FINAL: a version stored twice can only add to them, a superset
-- (except lu's, which reads FINAL: there a version stored twice would subtract).
--
-- lu's candidates. The rule replays, per (company, reference stripped), customer invoices (amount > 0) adding
-- to the open amount and bank payments with a valid OCR number taking from it while it is above zero; a payment
-- is a finding when its OCR number is not valid, or when the open amount is zero or less and the invoice history
-- covers it. Groups here are coarser, (company, the reference's ASCII digits): stripping blanks keeps the
-- digits, so each group holds whole rule groups, and the rule re-run over whole groups finds exactly their
-- findings. A payment is a candidate unless this SQL proves it is no finding: its reference
-- is 2-25 ASCII digits passing Luhn (and the length digit when asked), so the rule takes it as valid; and before
-- it, in the rule's order (posting date, recorded at, event id), the group's invoices whose reference is exactly
-- those digits add up to more than every incoming payment of the group (any source, any reference) takes, so
-- the rule's open amount, which holds at least those invoices less at most those payments, is above zero.
-- Postings tied with it in that order count against it (invoices left out, payments kept in), whatever order
-- the rule's sort gives them.
SELECT * FROM (
    SELECT event_id, kind, company, account, amount_ore, currency, posting_date, document_date, due_date,
           voucher_series, voucher_number, counterparty_id, counterparty_name, invoice_number, reference, text,
           registered_by, approved_by, recorded_at, source,
           (kind = 'customer_invoice' AND event_id = {first_invoice:String} AND posting_date = {history_from:Date})
             OR (kind IN ('customer_invoice', 'incoming_payment')
                 AND (company, replaceRegexpAll(coalesce(reference, ''), '[^0-9]', '')) IN (
                     SELECT company, digits
                     FROM (
                         SELECT company, digits, kind, source, ref, posting_date, pay,
                                sum(inv) OVER w - sum(inv) OVER (w RANGE BETWEEN CURRENT ROW AND CURRENT ROW)
                                  - (sum(pay) OVER w - pay) AS open_at_least
                         FROM (
                             SELECT company, replaceRegexpAll(coalesce(reference, ''), '[^0-9]', '') AS digits, kind,
                                    source, coalesce(reference, '') AS ref, posting_date, recorded_at, event_id,
                                    if(kind = 'customer_invoice' AND amount_ore > 0 AND match(ref, '^[0-9]+$'),
                                       toInt64(amount_ore), toInt64(0)) AS inv,
                                    if(kind = 'incoming_payment', toInt64(abs(amount_ore)), toInt64(0)) AS pay
                             FROM invoice_postings FINAL
                             WHERE (kind = 'incoming_payment' AND posting_date >= {newest:Date} - {lookback:Int32})
                                OR (kind = 'customer_invoice' AND posting_date >= {newest:Date} - {horizon:Int32})
                         )
                         -- The default frame: up to the current row and the rows tied with it.
                         WINDOW w AS (PARTITION BY company, digits ORDER BY posting_date, recorded_at, event_id)
                     )
                     WHERE kind = 'incoming_payment' AND source IN {bank_sources:Array(String)}
                       AND NOT (match(ref, '^[0-9]+$') AND length(ref) BETWEEN 2 AND 25
                                AND arraySum(arrayMap((d, i) -> if(i % 2 = 0, if(d * 2 > 9, d * 2 - 9, d * 2), d),
                                                      arrayMap(c -> reinterpretAsUInt8(c) - 48,
                                                               arrayReverse(splitByString('', ref))),
                                                      arrayEnumerate(splitByString('', ref)))) % 10 = 0
                                AND (NOT {length_digit:Bool}
                                     OR reinterpretAsUInt8(substring(ref, length(ref) - 1, 1)) - 48 = length(ref) % 10)
                                AND (open_at_least > 0
                                     OR posting_date < {history_from:Date} + {invoice_horizon:Int32})))) AS lu,
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
