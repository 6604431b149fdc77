SELECT
    $__timeInterval(occurred_at) AS time,
    queue,
    round(avg(wait_ms) / 1000, 1) AS asa
FROM call_events FINAL
WHERE $__timeFilter(occurred_at)
  AND event_type = 'answered'
  AND $__conditionalAll(queue IN (${queue:singlequote}), $queue)
GROUP BY time, queue
ORDER BY time, queue
