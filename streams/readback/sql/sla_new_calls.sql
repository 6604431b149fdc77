-- The call_events rows stored since the SLA monitor's cursor: offsets in [next, upto] of each
-- 'topic:partition' (as finance_new_postings.sql). Every row moves its partition's clock (time and ingestion
-- time, ms); the e-mail rows received or answered come with contact, queue, type and event id (the others
-- with an empty contact). The first condition is implied by the others (least: the smallest next offset): a
-- cheap test on the offset alone before the per-partition one.
SELECT concat(_topic, ':', toString(_partition)), toUnixTimestamp64Milli(occurred_at),
       toUnixTimestamp64Milli(_ingested_at),
       if(channel = 'email' AND event_type IN ('email_received', 'email_answered'), contact_id, ''),
       toString(queue), toString(event_type), event_id
FROM call_events
WHERE _offset >= {least:Int64}
  AND _offset >= arrayElement({next_offsets:Array(Int64)},
                              indexOf({next_keys:Array(String)}, concat(_topic, ':', toString(_partition))))
  AND _offset <= arrayElement({upto_offsets:Array(Int64)},
                              indexOf({upto_keys:Array(String)}, concat(_topic, ':', toString(_partition))))
