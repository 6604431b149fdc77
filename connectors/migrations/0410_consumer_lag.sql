-- Consumer lag over time, for the pipeline-health dashboard: the leader samples the consumer group's committed
-- offset and each partition's end offset from the broker (`streams/readback/consumer_lag.py`). True lag on
-- Apache Kafka; on the embedded Tansu broker the end offsets can be off (measured), so there it is a hint.
-- Samples, not facts: a repeated sample changes nothing a panel shows. About 6,000 small rows an hour for 24
-- partitions; no TTL here (a TTL would also drop back-dated rows at insert), add one on a server if wanted.
CREATE TABLE IF NOT EXISTS consumer_lag
(
    sampled_at     DateTime64(3, 'UTC'),
    consumer_group LowCardinality(String),
    topic          LowCardinality(String),
    partition      Int32,
    end_offset     Int64,
    committed      Nullable(Int64),
    lag            Nullable(Int64)
)
ENGINE = MergeTree
ORDER BY (consumer_group, topic, partition, sampled_at);
