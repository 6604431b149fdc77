-- Cases opened since since (epoch ms): opened and closed times, and how many closings.
SELECT case_id, any(case_type),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'opened')),
       toUnixTimestamp64Milli(minIf(occurred_at, event_type = 'closed')),
       countIf(event_type = 'closed')
FROM cases FINAL
WHERE occurred_at >= fromUnixTimestamp64Milli({since:Int64})
GROUP BY case_id
HAVING countIf(event_type = 'opened') > 0
