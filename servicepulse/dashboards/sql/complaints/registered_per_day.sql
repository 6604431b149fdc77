-- Complaints, opinions and praise registered per Stockholm day, by category.
SELECT toStartOfDay(occurred_at) AS time, category, count() AS registered
FROM complaints FINAL
WHERE $__timeFilter(occurred_at) AND event_type = 'registered'
GROUP BY time, category
ORDER BY time
