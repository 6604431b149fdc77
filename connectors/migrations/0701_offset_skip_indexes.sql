-- A min-max skip index on the Kafka offset of the raw tables the read-back controls follow by cursor
-- (finance review: invoice_postings; SLA monitor: call_events, cases). Rows arrive in offset order and are
-- sorted by business time, so old granules hold old offsets: "rows above the cursor" skips them instead of
-- scanning the whole column. Built for parts written from now on (inserts and merges).

ALTER TABLE invoice_postings ADD INDEX IF NOT EXISTS ix_offset _offset TYPE minmax GRANULARITY 1;

ALTER TABLE call_events ADD INDEX IF NOT EXISTS ix_offset _offset TYPE minmax GRANULARITY 1;

ALTER TABLE cases ADD INDEX IF NOT EXISTS ix_offset _offset TYPE minmax GRANULARITY 1;
