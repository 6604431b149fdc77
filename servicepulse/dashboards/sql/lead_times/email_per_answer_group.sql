-- E-mails received in the selected range per answer group: answered within the limit (contact.email_deadline
-- working days of office hours, from the parameters file), late, still open past it, and the mean lead time.
SELECT queue,
       count() AS received,
       countIf(answered_at IS NOT NULL) AS answered,
       countIf(answered_at IS NOT NULL AND office_hours <= {{contact.email_deadline:working_days}} * office_day_hours)
           AS answered_in_time,
       round(100 * answered_in_time / nullIf(answered, 0), 1) AS in_time_pct,
       countIf(answered_at IS NULL AND office_hours > {{contact.email_deadline:working_days}} * office_day_hours)
           AS open_overdue,
       round(avgIf(office_hours, answered_at IS NOT NULL), 1) AS mean_office_hours,
       any({{contact.email_deadline:working_days}} * office_day_hours) AS limit_office_hours
FROM v_report_email_lead_times
WHERE $__timeFilter(received_at)
GROUP BY queue
ORDER BY queue
