SELECT
    toStartOfInterval(ifNull(offered_at, occurred_at), INTERVAL 15 minute) AS time,
    queue,
    round(100 * countIf(event_type = 'answered' AND wait_ms <= 1000 * if(t_queue = '', d_threshold_s, t_threshold_s))
        / nullIf(count() - countIf(event_type = 'abandoned' AND wait_ms <= 1000 * if(t_queue = '', d_short_abandon_s, t_short_abandon_s)), 0), 1) AS service_level
FROM call_events FINAL
LEFT JOIN (SELECT queue AS t_queue, threshold_s AS t_threshold_s, short_abandon_s AS t_short_abandon_s
           FROM sla_queue_targets FINAL) AS t ON t_queue = queue
CROSS JOIN (SELECT threshold_s AS d_threshold_s, short_abandon_s AS d_short_abandon_s
            FROM sla_queue_targets FINAL WHERE queue = '*' ORDER BY updated_at DESC LIMIT 1) AS d
WHERE $__timeFilter(occurred_at)
  AND event_type IN ('answered', 'abandoned')
  AND channel = 'phone'
  AND $__conditionalAll(queue IN (${queue:singlequote}), $queue)
GROUP BY time, queue
ORDER BY time, queue
