SELECT
    rule_id,
    rule_version,
    severity,
    count() AS findings,
    max(detected_at) AS last_detected_at
FROM findings FINAL
WHERE $__timeFilter(detected_at)
GROUP BY rule_id, rule_version, severity
ORDER BY findings DESC, rule_id
