-- The case rows opened or closed since since (epoch ms), as stored (FINAL), one per event: case, type, event
-- type, time (ms) and event id; sla_cases.sql aggregates the same rows per case.
SELECT case_id, case_type, event_type, toUnixTimestamp64Milli(occurred_at), event_id
FROM cases FINAL
WHERE event_type IN ('opened', 'closed') AND occurred_at >= fromUnixTimestamp64Milli({since:Int64})
