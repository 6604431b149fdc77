SELECT
    $__timeInterval(failed_at) AS time,
    concat(source_topic, ' / ', kind) AS source,
    count() AS dead_letters
FROM dead_letters
WHERE $__timeFilter(failed_at)
GROUP BY time, source
ORDER BY time, source
