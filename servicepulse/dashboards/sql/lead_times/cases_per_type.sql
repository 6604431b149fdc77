-- Timed cases opened in the selected range per case type against their limit "day 1-N" (case_lead_time_limits,
-- written from contact.case_lead_time in the parameters file): closed in time, still open past the deadline.
SELECT case_type, any(limit_days) AS limit_days,
       count() AS opened,
       countIf(closed_at IS NOT NULL) AS closed,
       countIf(closed_in_time) AS closed_in_time,
       round(100 * closed_in_time / nullIf(closed, 0), 1) AS in_time_pct,
       countIf(closed_at IS NULL AND due_at < now64(3)) AS open_overdue,
       round(avgIf(dateDiff('hour', opened_at, assumeNotNull(closed_at)), closed_at IS NOT NULL) / 24, 1)
           AS mean_lead_days
FROM v_report_case_deadlines
WHERE $__timeFilter(opened_at)
GROUP BY case_type
ORDER BY case_type
