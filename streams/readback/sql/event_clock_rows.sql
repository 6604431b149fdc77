-- As event_clock.sql, but per partition by name ('topic:partition') and with the newest ingestion time (ms)
-- instead of the idle seconds, so the SLA monitor can keep it and advance it with the rows stored since.
SELECT concat(_topic, ':', toString(_partition)), toUnixTimestamp64Milli(max(occurred_at)),
       toUnixTimestamp64Milli(max(_ingested_at))
FROM {table:Identifier}
GROUP BY _topic, _partition
