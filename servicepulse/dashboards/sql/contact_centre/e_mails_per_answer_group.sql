SELECT
    queue,
    countIf(event_type = 'email_received') AS received,
    countIf(event_type = 'email_answered') AS answered,
    round(avgIf(wait_ms, event_type = 'email_answered') / 3600000, 1) AS mean_hours_to_answer
FROM call_events FINAL
WHERE $__timeFilter(occurred_at)
  AND event_type IN ('email_received', 'email_answered')
  AND $__conditionalAll(queue IN (${queue:singlequote}), $queue)
GROUP BY queue
ORDER BY queue
