SELECT
    $__timeInterval(detected_at) AS time,
    rule_id,
    count() AS findings
FROM findings FINAL
WHERE $__timeFilter(detected_at)
GROUP BY time, rule_id
ORDER BY time, rule_id
