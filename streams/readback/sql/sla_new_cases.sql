-- The cases rows stored since the SLA monitor's cursor, as sla_new_calls.sql: partition, time and ingestion
-- time (ms); the rows of a case opened or closed with case, type, event type and event id.
SELECT concat(_topic, ':', toString(_partition)), toUnixTimestamp64Milli(occurred_at),
       toUnixTimestamp64Milli(_ingested_at), if(event_type IN ('opened', 'closed'), case_id, ''),
       toString(case_type), toString(event_type), event_id
FROM cases
WHERE _offset >= {least:Int64}
  AND _offset >= arrayElement({next_offsets:Array(Int64)},
                              indexOf({next_keys:Array(String)}, concat(_topic, ':', toString(_partition))))
  AND _offset <= arrayElement({upto_offsets:Array(Int64)},
                              indexOf({upto_keys:Array(String)}, concat(_topic, ':', toString(_partition))))
