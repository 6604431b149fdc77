-- Payroll controls (issue 5): the restricted person table, samples (stickprov), control runs and replays.
-- Date32 for birth and employment dates: Date starts at 1970.

-- RESTRICTED: the only table holding personnummer and names. Grant SELECT to internal control's payroll
-- auditors only; findings, alerts, logs and dashboards refer to people by anstid (or, for a protected
-- person, by `pseudonym`). Bank accounts are kept as salted hashes: the rules only compare them.
CREATE TABLE IF NOT EXISTS payroll_people_restricted
(
    employee_id         String,
    personnummer        String,
    coordination_number Bool,
    first_name          Nullable(String),
    last_name           Nullable(String),
    birth_date          Date32,
    employed_from       Nullable(Date32),
    employed_to         Nullable(Date32),
    bank_hash           Nullable(String),
    previous_bank_hash  Nullable(String),
    bank_changed_on     Nullable(Date),
    protected           Bool,
    pseudonym           String,
    source              LowCardinality(String),
    updated_at          DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY employee_id
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per drawn sample: an auditor re-draws it from run_id, method and seed (see streams/payroll/sampling.py).
CREATE TABLE IF NOT EXISTS payroll_samples
(
    run_id         String,
    method         LowCardinality(String),
    seed           UInt64,
    size           Int32,
    population     Int64,
    population_ore Int64,
    interval_ore   Nullable(Int64),
    start_ore      Nullable(Int64),
    documents      Array(String),
    drawn_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, method)
SETTINGS non_replicated_deduplication_window = 1000;

-- Each evaluation of a closed run: when, how many lines it saw, how many findings it sent.
CREATE TABLE IF NOT EXISTS payroll_run_checks
(
    run_id     String,
    kind       LowCardinality(String),
    customer   LowCardinality(String),
    line_count Int64,
    lines_seen Int64,
    findings   Int64,
    seconds    Float64,
    checked_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(checked_at)
ORDER BY run_id
SETTINGS non_replicated_deduplication_window = 1000;

-- Replays (`servicepulse controls rerun`): a rule version with its parameters over history, apart from
-- `findings`, so a changed threshold can be compared with the one in production.
CREATE TABLE IF NOT EXISTS findings_rerun
(
    rerun_id         String,
    parameters_json  String,
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
    rerun_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(rerun_at)
ORDER BY (rerun_id, rule_id, finding_id)
SETTINGS non_replicated_deduplication_window = 1000;
