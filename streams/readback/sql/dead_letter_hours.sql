-- The first dead letter (by failure time, then source position) of every source topic and Stockholm hour, over
-- the last `hours` hours before the newest dead letter: what the ops.dead_letters alert of that hour reports.
SELECT
    source_topic,
    argMin(source_partition, (failed_at, source_partition, source_offset)) AS partition,
    argMin(source_offset, (failed_at, source_partition, source_offset)) AS offset,
    argMin(kind, (failed_at, source_partition, source_offset)) AS kind,
    argMin(reason, (failed_at, source_partition, source_offset)) AS reason,
    argMin(stage, (failed_at, source_partition, source_offset)) AS stage,
    toUnixTimestamp64Milli(min(failed_at)) AS first_ms
FROM dead_letters
WHERE failed_at >= (SELECT max(failed_at) FROM dead_letters) - INTERVAL {hours:UInt32} HOUR
GROUP BY source_topic, toStartOfHour(failed_at)
ORDER BY first_ms, source_topic
