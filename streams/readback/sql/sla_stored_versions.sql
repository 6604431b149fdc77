-- How many stored rows of call_events (group = queue) or cases (group = case_type) share the sorting key
-- (group, time in ms, event id) of these rows: more than one per key means an event was stored again and
-- FINAL may now show another version, so the SLA monitor reads its rows from scratch.
SELECT count()
FROM {table:Identifier}
WHERE ({group:Identifier}, occurred_at, event_id) IN (
    SELECT k.1, fromUnixTimestamp64Milli(k.2, 'Europe/Stockholm'), k.3
    FROM (SELECT arrayJoin({versions:Array(Tuple(String, Int64, String))}) AS k))
