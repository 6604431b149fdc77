SELECT
    toStartOfDay(occurred_at) AS time,
    queue,
    round(100 * countIf(resolved_first_contact) / nullIf(countIf(isNotNull(resolved_first_contact)), 0), 1) AS fcr
FROM call_events FINAL
WHERE $__timeFilter(occurred_at)
  AND event_type = 'ended'
  AND $__conditionalAll(queue IN (${queue:singlequote}), $queue)
GROUP BY time, queue
ORDER BY time, queue
