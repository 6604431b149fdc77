-- The stored alerts of these ids, each once, in the order stored: the items of a digest posted again.
SELECT
    alert_id, alert_key, state, severity, rule_id, rule_version, title, measured_value, target, unit,
    window_start, window_end, occurred_at, details_json, _ingested_at
FROM alerts
WHERE alert_id IN {ids:Array(String)}
ORDER BY _ingested_at, occurred_at, state = 'resolved', alert_id
LIMIT 1 BY alert_id
