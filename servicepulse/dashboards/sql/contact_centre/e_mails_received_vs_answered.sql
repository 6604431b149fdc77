SELECT
    toStartOfDay(occurred_at) AS time,
    countIf(event_type = 'email_received') AS received,
    countIf(event_type = 'email_answered') AS answered
FROM call_events FINAL
WHERE $__timeFilter(occurred_at)
  AND event_type IN ('email_received', 'email_answered')
  AND $__conditionalAll(queue IN (${queue:singlequote}), $queue)
GROUP BY time
ORDER BY time
