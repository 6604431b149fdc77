SELECT
    occurred_at,
    state,
    severity,
    rule_id,
    title,
    measured_value,
    target,
    unit,
    window_start,
    window_end
FROM alerts FINAL
WHERE $__timeFilter(occurred_at)
ORDER BY occurred_at DESC
LIMIT 500
