-- Share of the timed cases opened per week (Monday, Stockholm) and closed that were closed by their deadline.
SELECT toDateTime(toMonday(opened_at), 'Europe/Stockholm') AS time, case_type,
       round(100 * countIf(closed_in_time) / count(), 1) AS in_time_pct
FROM v_report_case_deadlines
WHERE $__timeFilter(opened_at) AND closed_at IS NOT NULL
GROUP BY time, case_type
ORDER BY time
