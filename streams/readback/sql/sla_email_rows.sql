-- The e-mail rows received or answered since since (epoch ms), as stored (FINAL), one per event: contact,
-- queue, type, time (ms) and event id. sla_emails.sql aggregates the same rows per contact; the SLA monitor
-- keeps these and aggregates itself, so a later tick reads only the rows stored since.
SELECT contact_id, queue, event_type, toUnixTimestamp64Milli(occurred_at), event_id
FROM call_events FINAL
WHERE channel = 'email' AND event_type IN ('email_received', 'email_answered')
  AND occurred_at >= fromUnixTimestamp64Milli({since:Int64})
