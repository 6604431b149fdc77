-- Per Kafka partition of one raw table: the highest offset stored and the rows stored (the sink's watermarks,
-- kept in the same insert as the rows), and the store's clock (ms). The SLA monitor's cursor: rows above it
-- are new. Empty for a table nothing was stored in (the clock then comes back on no row: read apart).
SELECT concat(topic, ':', toString(partition)), max(max_offset), sum(rows)
FROM sink_watermarks
WHERE table_name = {table:String}
GROUP BY topic, partition
