-- Raw tables: one per topic, one row per delivered event.
-- Every row keeps the Kafka position it came from (_topic, _partition, _offset); the sink never writes
-- an offset at or below the partition's watermark (see 0002), and a retried insert carries the same
-- insert_deduplication_token, so redelivery never double-counts. ReplacingMergeTree on the event id
-- additionally collapses an event that a *source* sent twice (e.g. a file ingested twice): use FINAL
-- (or the v_* views) for business counts.
-- Business times are DateTime64(3, 'Europe/Stockholm'): stored as UTC instants, shown and bucketed
-- (toStartOfDay, toStartOfHour) in Stockholm time.

CREATE TABLE IF NOT EXISTS call_events
(
    event_id               String,
    contact_id             String,
    event_type             LowCardinality(String),
    channel                LowCardinality(String),
    queue                  LowCardinality(String),
    org                    LowCardinality(String),
    occurred_at            DateTime64(3, 'Europe/Stockholm'),
    offered_at             Nullable(DateTime64(3, 'Europe/Stockholm')),
    wait_ms                Nullable(Int64),
    handle_ms              Nullable(Int64),
    agent_id               Nullable(String),
    resolved_first_contact Nullable(Bool),
    source                 LowCardinality(String),
    _topic                 LowCardinality(String),
    _partition             Int32,
    _offset                Int64,
    _ingested_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (queue, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS invoice_postings
(
    event_id          String,
    kind              LowCardinality(String),
    company           LowCardinality(String),
    account           LowCardinality(String),
    amount_ore        Int64,
    currency          LowCardinality(String),
    posting_date      Date,
    document_date     Nullable(Date),
    due_date          Nullable(Date),
    voucher_series    Nullable(String),
    voucher_number    Nullable(String),
    counterparty_id   Nullable(String),
    counterparty_name Nullable(String),
    invoice_number    Nullable(String),
    reference         Nullable(String),
    text              Nullable(String),
    registered_by     Nullable(String),
    approved_by       Nullable(String),
    recorded_at       DateTime64(3, 'Europe/Stockholm'),
    source            LowCardinality(String),
    _topic            LowCardinality(String),
    _partition        Int32,
    _offset           Int64,
    _ingested_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(posting_date)
ORDER BY (company, account, posting_date, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS payroll_runs
(
    event_id        String,
    run_id          String,
    kind            LowCardinality(String),
    status          LowCardinality(String),
    customer        LowCardinality(String),
    period          LowCardinality(String),
    pay_date        Date,
    payment_channel Nullable(String),
    line_count      Nullable(Int64),
    gross_ore       Nullable(Int64),
    net_ore         Nullable(Int64),
    occurred_at     DateTime64(3, 'Europe/Stockholm'),
    source          LowCardinality(String),
    _topic          LowCardinality(String),
    _partition      Int32,
    _offset         Int64,
    _ingested_at    DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (customer, run_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS payroll_lines
(
    event_id       String,
    run_id         String,
    line_no        Int64,
    employee_id    String,
    customer       LowCardinality(String),
    pay_type       LowCardinality(String),
    pay_type_name  Nullable(String),
    category       LowCardinality(String),
    quantity       Nullable(Decimal(18, 4)),
    unit_price_ore Nullable(Int64),
    amount_ore     Int64,
    work_date      Nullable(Date),
    period_from    Nullable(Date),
    period_to      Nullable(Date),
    cost_account   Nullable(String),
    occurred_at    DateTime64(3, 'Europe/Stockholm'),
    source         LowCardinality(String),
    _topic         LowCardinality(String),
    _partition     Int32,
    _offset        Int64,
    _ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, employee_id, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS complaints
(
    event_id      String,
    complaint_id  String,
    event_type    LowCardinality(String),
    occurred_at   DateTime64(3, 'Europe/Stockholm'),
    customer      LowCardinality(String),
    process       LowCardinality(String),
    channel       LowCardinality(String),
    category      LowCardinality(String),
    registered_by Nullable(String),
    summary       Nullable(String),
    source        LowCardinality(String),
    _topic        LowCardinality(String),
    _partition    Int32,
    _offset       Int64,
    _ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (customer, process, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS findings
(
    finding_id       String,
    rule_id          LowCardinality(String),
    rule_version     Int32,
    severity         LowCardinality(String),
    subject_type     LowCardinality(String),
    subject_id       String,
    company          Nullable(String),
    occurred_at      DateTime64(3, 'Europe/Stockholm'),
    detected_at      DateTime64(3, 'Europe/Stockholm'),
    summary          String,
    evidence_json    String,
    source_event_ids Array(String),
    _topic           LowCardinality(String),
    _partition       Int32,
    _offset          Int64,
    _ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (rule_id, subject_id, finding_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS alerts
(
    alert_id       String,
    alert_key      String,
    state          LowCardinality(String),
    severity       LowCardinality(String),
    rule_id        LowCardinality(String),
    rule_version   Int32,
    title          String,
    measured_value Nullable(Float64),
    target         Nullable(Float64),
    unit           Nullable(String),
    window_start   Nullable(DateTime64(3, 'Europe/Stockholm')),
    window_end     Nullable(DateTime64(3, 'Europe/Stockholm')),
    occurred_at    DateTime64(3, 'Europe/Stockholm'),
    details_json   String,
    _topic         LowCardinality(String),
    _partition     Int32,
    _offset        Int64,
    _ingested_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (alert_key, occurred_at, alert_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- _topic/_partition/_offset of a dead letter are the position of the *rejected* message, so that a
-- rejection repeated after a replay is recognised; a file error has the dead-letters topic position.
CREATE TABLE IF NOT EXISTS dead_letters
(
    source_topic     LowCardinality(String),
    source_partition Int32,
    source_offset    Int64,
    kind             LowCardinality(String),
    reason           String,
    schema_id        Nullable(Int64),
    stage            LowCardinality(String),
    source_key       Nullable(String),
    payload          String,
    failed_at        DateTime64(3, 'Europe/Stockholm'),
    _topic           LowCardinality(String),
    _partition       Int32,
    _offset          Int64,
    _ingested_at     DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (source_topic, source_partition, source_offset)
SETTINGS non_replicated_deduplication_window = 1000;
