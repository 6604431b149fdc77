-- Per partition of one raw table: the newest event time stored (ms) and how long ago (wall clock, s) the
-- partition last stored anything. The monitor's event-time clock is a watermark over these.
SELECT toUnixTimestamp64Milli(max(occurred_at)), dateDiff('second', max(_ingested_at), now64(3))
FROM {table:Identifier}
GROUP BY _topic, _partition
