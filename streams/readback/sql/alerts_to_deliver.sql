-- Alerts stored in the last `hours` hours, of the channel's rules and severities, that are in no digest on
-- `channel` yet (and were not delivered or rejected one by one before digests), in the order they were stored (a raise before its resolve), each once,
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
      -- The channel's rules (ids, or prefixes ending in '.'; none: all) and raise severities (none: all); a
      -- resolve goes where its raise went.
      AND (empty({rules:Array(String)}) OR has({rules:Array(String)}, rule_id)
           OR arrayExists(p -> endsWith(p, '.') AND startsWith(rule_id, p), {rules:Array(String)}))
      AND (empty({severities:Array(String)})
           OR (state = 'raised' AND has({severities:Array(String)}, severity))
           OR (state != 'raised' AND alert_key IN (
               SELECT alert_key FROM alerts
               WHERE state = 'raised' AND has({severities:Array(String)}, severity))))
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
