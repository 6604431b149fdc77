-- Share of the complaints registered in the selected range and acknowledged so far that were acknowledged within
-- the limit in office hours.
SELECT round(100 * countIf(a.ack_office_hours <= a.ack_limit_hours) / nullIf(count(), 0), 1) AS in_time_pct
FROM v_complaint_stories AS s
INNER JOIN v_complaint_ack AS a ON a.complaint_id = s.complaint_id
WHERE s.registered_at IS NOT NULL AND $__timeFilter(s.registered_at)
