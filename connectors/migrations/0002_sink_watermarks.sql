-- Sink watermarks: the highest Kafka offset stored per table, topic and partition, kept by
-- materialized views in the same insert as the rows, so the replay guard reads a tiny table instead
-- of scanning the raw ones. The target sets the deduplication window too: in chdb a view fires again
-- on a deduplicated retry unless its target deduplicates as well (measured).

CREATE TABLE IF NOT EXISTS sink_watermarks
(
    table_name LowCardinality(String),
    topic      LowCardinality(String),
    partition  Int32,
    max_offset SimpleAggregateFunction(max, Int64),
    rows       SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (table_name, topic, partition)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_call_events TO sink_watermarks AS
SELECT 'call_events' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM call_events GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_invoice_postings TO sink_watermarks AS
SELECT 'invoice_postings' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM invoice_postings GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_payroll_runs TO sink_watermarks AS
SELECT 'payroll_runs' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM payroll_runs GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_payroll_lines TO sink_watermarks AS
SELECT 'payroll_lines' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM payroll_lines GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_complaints TO sink_watermarks AS
SELECT 'complaints' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM complaints GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_findings TO sink_watermarks AS
SELECT 'findings' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM findings GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_alerts TO sink_watermarks AS
SELECT 'alerts' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM alerts GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_dead_letters TO sink_watermarks AS
SELECT 'dead_letters' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM dead_letters GROUP BY _topic, _partition;
