-- Digests made on `channel` and neither delivered nor rejected (all rows of a digest are written in one insert,
-- so one delivered row means all are): posted again with the same id and items, oldest first. The section of
-- each alert is (its rule, digest_scope).
SELECT
    digest_id,
    any(digest_day) AS day,
    min(digest_at) AS made_at,
    max(attempts) AS attempts,
    groupUniqArray((alert_id, digest_scope)) AS members
FROM alert_deliveries
WHERE channel = {channel:String} AND digest_id != ''
GROUP BY digest_id
HAVING countIf(state IN ('delivered', 'rejected')) = 0
ORDER BY made_at, digest_id
