SELECT
    source_topic,
    kind,
    stage,
    count() AS dead_letters,
    min(failed_at) AS first_failed_at,
    max(failed_at) AS last_failed_at,
    argMax(reason, failed_at) AS latest_reason
FROM dead_letters
WHERE $__timeFilter(failed_at)
GROUP BY source_topic, kind, stage
ORDER BY last_failed_at DESC
