-- Cases of the payroll & pension case system and their lead times (seed 000): opened and closed events,
-- one row each, guarded like every raw table (see 0001/0002).

CREATE TABLE IF NOT EXISTS cases
(
    event_id     String,
    case_id      String,
    event_type   LowCardinality(String),
    case_type    LowCardinality(String),
    unit         LowCardinality(String),
    customer     LowCardinality(String),
    occurred_at  DateTime64(3, 'Europe/Stockholm'),
    source       LowCardinality(String),
    _topic       LowCardinality(String),
    _partition   Int32,
    _offset      Int64,
    _ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (case_type, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_cases TO sink_watermarks AS
SELECT 'cases' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM cases GROUP BY _topic, _partition;

-- Lead-time limits "day 1-N" per case type (seed 000), written by `migrate` from the parameters file (the
-- `contact.case_lead_time` rule's limits), so the alert rule and this table always agree.
CREATE TABLE IF NOT EXISTS case_lead_time_limits
(
    case_type  LowCardinality(String),
    limit_days UInt8,
    updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY case_type
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per case: when it was opened and closed, its limit, and whether it is still open.
CREATE VIEW IF NOT EXISTS v_case_lead_times AS
SELECT c.case_id AS case_id, c.case_type AS case_type, c.unit AS unit, c.customer AS customer,
       c.opened_at AS opened_at, c.closed_at AS closed_at, l.limit_days AS limit_days,
       c.closed_at IS NULL AS open
FROM
(
    SELECT case_id, any(case_type) AS case_type, any(unit) AS unit, any(customer) AS customer,
           minIf(occurred_at, event_type = 'opened') AS opened_at,
           if(countIf(event_type = 'closed') > 0, maxIf(occurred_at, event_type = 'closed'), NULL) AS closed_at
    FROM cases FINAL
    GROUP BY case_id
    HAVING countIf(event_type = 'opened') > 0
) AS c
LEFT JOIN (SELECT case_type, argMax(limit_days, updated_at) AS limit_days FROM case_lead_time_limits
           GROUP BY case_type) AS l ON l.case_type = c.case_type;
