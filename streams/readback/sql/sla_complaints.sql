-- Complaint stories registered since since (epoch ms): registered, acknowledged and closed times.
SELECT complaint_id, customer, process, category, toUnixTimestamp64Milli(registered_at),
       toUnixTimestamp64Milli(acknowledged_at), toUnixTimestamp64Milli(closed_at)
FROM v_complaint_stories
WHERE registered_at >= fromUnixTimestamp64Milli({since:Int64})
