-- Which of these alert ids the alerts table already holds: a runner sends only alerts not stored yet, so a
-- restarted worker or a new leader re-deriving history re-sends nothing.
SELECT DISTINCT alert_id
FROM alerts
WHERE alert_id IN {ids:Array(String)}
