-- E-mails received since since (epoch ms): received and first answer times, and how many answers.
SELECT contact_id, any(queue),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'email_received')),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'email_answered')),
       countIf(event_type = 'email_answered')
FROM call_events FINAL
WHERE channel = 'email' AND occurred_at >= fromUnixTimestamp64Milli({since:Int64})
GROUP BY contact_id
HAVING countIf(event_type = 'email_received') > 0
