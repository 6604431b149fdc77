-- The alert outbox: the delivery state of every alert on every channel (a team-chat webhook), kept here so
-- that a worker restart or a new leader neither loses an undelivered alert nor posts a delivered one again.
-- One row per attempt's outcome; the row with the most attempts wins on merge. States: pending (the last
-- attempt failed for a transient reason: retried with backoff), delivered, rejected (the endpoint refused
-- it with a 4xx other than 408/429: not retried). Readers look for any delivered/rejected row, so FINAL is
-- not needed.
CREATE TABLE IF NOT EXISTS alert_deliveries
(
    alert_id     String,
    channel      LowCardinality(String),
    state        LowCardinality(String),
    attempts     UInt32,
    last_error   String,
    updated_at   DateTime64(3, 'UTC'),
    delivered_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplacingMergeTree(attempts)
ORDER BY (channel, alert_id);
