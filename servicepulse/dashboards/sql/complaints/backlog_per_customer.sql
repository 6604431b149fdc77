-- Open complaints now per customer and process, with the oldest one's age in hours (no personal data).
SELECT customer, process, count() AS open, countIf(acknowledged_at IS NULL) AS unacknowledged,
       max(age_hours) AS oldest_age_hours
FROM v_complaint_backlog
GROUP BY customer, process
ORDER BY open DESC, customer, process
