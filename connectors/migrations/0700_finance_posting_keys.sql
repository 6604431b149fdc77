-- The finance review's key index: per posting, the keys its rules group by, with the posting's sorting key. A
-- pass after new postings finds every posting a touched key depends on by the primary key here, then reads just
-- those rows of invoice_postings (FINAL) by theirs, instead of scanning the whole review window with FINAL.
-- Keys (rule, key): 'ref' the reference without blanks of customer invoices and incoming payments
-- (bank.likely_unidentified); 'amount' the absolute amount in öre of outgoing payments (ap.duplicate_payment);
-- 'day' the document day (else posting date), '|' and the approver of supplier invoices (ap.split_invoice);
-- 'supplier' the supplier id of supplier invoices and outgoing payments (ap.new_supplier_four_eyes). Every
-- stored version of a posting adds its keys, a superset of the current ones: the review re-checks each rule's
-- condition on the FINAL row. Kept by a materialized view in the same insert as the postings.
CREATE TABLE IF NOT EXISTS finance_posting_keys
(
    rule         LowCardinality(String),
    company      LowCardinality(String),
    key          String,
    posting_date Date,
    account      LowCardinality(String),
    event_id     String
)
ENGINE = ReplacingMergeTree
ORDER BY (rule, company, key, posting_date, account, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_finance_posting_keys TO finance_posting_keys AS
SELECT k.1 AS rule, company, k.2 AS key, posting_date, account, event_id
FROM invoice_postings
ARRAY JOIN arrayFilter(x -> x.1 != '', [
    tuple(if(kind IN ('customer_invoice', 'incoming_payment'), 'ref', ''),
          replaceRegexpAll(coalesce(reference, ''), '\\s', '')),
    tuple(if(kind = 'outgoing_payment', 'amount', ''), toString(abs(amount_ore))),
    tuple(if(kind = 'supplier_invoice', 'day', ''),
          concat(toString(coalesce(document_date, posting_date)), '|', coalesce(approved_by, ''))),
    tuple(if(kind IN ('supplier_invoice', 'outgoing_payment'), 'supplier', ''), coalesce(counterparty_id, ''))
]) AS k;

-- Postings stored before this view existed are added once by the finance review (its first pass from
-- scratch, streams/readback/sql/finance_keys_backfill.sql), which then writes a row here.
CREATE TABLE IF NOT EXISTS finance_posting_keys_backfill
(
    done_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY tuple()
SETTINGS non_replicated_deduplication_window = 100;
