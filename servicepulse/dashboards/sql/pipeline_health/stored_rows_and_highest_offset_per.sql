SELECT
    table_name,
    topic,
    sum(rows) AS rows_stored,
    max(max_offset) AS highest_offset,
    count() AS partitions
FROM sink_watermarks
GROUP BY table_name, topic
ORDER BY table_name, topic
