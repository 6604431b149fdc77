-- Fills finance_posting_keys (migration 0700) from the postings stored before its materialized view existed
-- (ingested up to a minute after the key table was created: a superset), the same keys the view writes (a key
-- written twice collapses: the whole row is the sorting key). On a store migrated before any posting, nothing.
INSERT INTO finance_posting_keys
SELECT k.1 AS rule, company, k.2 AS key, posting_date, account, event_id
FROM (
    SELECT kind, company, account, posting_date, event_id, reference, amount_ore, document_date, approved_by,
           counterparty_id
    FROM invoice_postings
    WHERE _ingested_at <= (SELECT max(metadata_modification_time) FROM system.tables
                           WHERE database = currentDatabase() AND name = 'finance_posting_keys') + INTERVAL 60 SECOND
)
ARRAY JOIN arrayFilter(x -> x.1 != '', [
    tuple(if(kind IN ('customer_invoice', 'incoming_payment'), 'ref', ''),
          replaceRegexpAll(coalesce(reference, ''), '\\s', '')),
    tuple(if(kind = 'outgoing_payment', 'amount', ''), toString(abs(amount_ore))),
    tuple(if(kind = 'supplier_invoice', 'day', ''),
          concat(toString(coalesce(document_date, posting_date)), '|', coalesce(approved_by, ''))),
    tuple(if(kind IN ('supplier_invoice', 'outgoing_payment'), 'supplier', ''), coalesce(counterparty_id, ''))
]) AS k
