-- Digests made on `channel` in the last minute and the last hour: a new courier (a restart, a new leader)
-- starts its rate limit with these already spent.
SELECT countIf(made_at >= now64(3) - INTERVAL 1 MINUTE), count()
FROM
(
    SELECT digest_id, min(digest_at) AS made_at
    FROM alert_deliveries
    WHERE channel = {channel:String} AND digest_id != '' AND digest_at >= now64(3) - INTERVAL 1 HOUR
    GROUP BY digest_id
)
