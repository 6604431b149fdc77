-- Share of the e-mails received per Stockholm day (and answered) that were answered within the limit.
SELECT toStartOfDay(received_at) AS time, queue,
       round(100 * countIf(office_hours <= {{contact.email_deadline:working_days}} * office_day_hours)
             / count(), 1) AS in_time_pct
FROM v_report_email_lead_times
WHERE $__timeFilter(received_at) AND answered_at IS NOT NULL
GROUP BY time, queue
ORDER BY time
