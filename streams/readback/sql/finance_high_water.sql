-- Per Kafka partition of invoice_postings: the highest offset stored and the rows stored (the sink's
-- watermarks, kept in the same insert as the rows). The finance review's cursor: rows above it are new.
SELECT concat(topic, ':', toString(partition)), max(max_offset), sum(rows)
FROM sink_watermarks
WHERE table_name = 'invoice_postings'
GROUP BY topic, partition
