SELECT
    $__timeInterval(occurred_at) AS time,
    countIf(event_type = 'offered') AS offered,
    countIf(event_type = 'answered') AS answered,
    countIf(event_type = 'abandoned') AS abandoned
FROM call_events FINAL
WHERE $__timeFilter(occurred_at)
  AND event_type IN ('offered', 'answered', 'abandoned')
  AND queue IN (${queue:singlequote})
GROUP BY time
ORDER BY time
