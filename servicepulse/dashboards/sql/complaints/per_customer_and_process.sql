-- Registered in the selected range per customer and process, and acknowledged within the limit in office hours
-- (v_complaint_ack; the limit from sla_settings, written from complaints.ack_deadline in the parameters file).
SELECT s.customer AS customer, s.process AS process,
       count() AS registered,
       countIf(s.category = 'complaint') AS complaints,
       countIf(s.acknowledged_at IS NOT NULL) AS acknowledged,
       countIf(s.acknowledged_at IS NOT NULL AND a.ack_office_hours <= a.ack_limit_hours) AS acknowledged_in_time,
       round(100 * acknowledged_in_time / nullIf(acknowledged, 0), 1) AS in_time_pct,
       round(avgIf(a.ack_office_hours, s.acknowledged_at IS NOT NULL), 1) AS mean_ack_office_hours,
       countIf(s.closed_at IS NOT NULL) AS closed
FROM v_complaint_stories AS s
LEFT JOIN v_complaint_ack AS a ON a.complaint_id = s.complaint_id
WHERE s.registered_at IS NOT NULL AND $__timeFilter(s.registered_at)
GROUP BY customer, process
ORDER BY customer, process
