-- Open complaints now (registered, not closed): all, and those not yet acknowledged.
SELECT count() AS open, countIf(acknowledged_at IS NULL) AS unacknowledged
FROM v_complaint_backlog
