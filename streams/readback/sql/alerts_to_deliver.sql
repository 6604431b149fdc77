-- Alerts stored in the last `hours` hours that are in no digest on `channel` yet (and were not delivered or
-- rejected one by one before digests), in the order they were stored (a raise before its resolve), each once,
-- with when the sink stored them (the digest schedule reckons from it) and the attempts made before digests.
SELECT
    a.alert_id, a.alert_key, a.state, a.severity, a.rule_id, a.rule_version, a.title, a.measured_value,
    a.target, a.unit, a.window_start, a.window_end, a.occurred_at, a.details_json, a._ingested_at,
    ifNull(d.attempts, 0) AS attempts
FROM
(
    SELECT *
    FROM alerts
    WHERE _ingested_at >= now64(3) - INTERVAL {hours:UInt32} HOUR
      AND alert_id NOT IN (
          SELECT alert_id FROM alert_deliveries
          WHERE channel = {channel:String} AND (digest_id != '' OR state IN ('delivered', 'rejected')))
    ORDER BY _ingested_at, occurred_at, state = 'resolved', alert_id
    LIMIT 1 BY alert_id
) AS a
LEFT JOIN
(
    SELECT alert_id, max(attempts) AS attempts
    FROM alert_deliveries
    WHERE channel = {channel:String}
    GROUP BY alert_id
) AS d ON a.alert_id = d.alert_id
ORDER BY a._ingested_at, a.occurred_at, a.state = 'resolved', a.alert_id
LIMIT {limit:UInt32}
SETTINGS join_use_nulls = 1
