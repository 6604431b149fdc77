-- E-mails received in the period per answer group and month: answered within `working_days` office days, or
-- late (answered later, or still unanswered past the deadline); the rest are unanswered and not yet due.
SELECT formatDateTime(received_at, '%Y-%m') AS month, queue,
       count() AS received,
       countIf(answered_at IS NOT NULL) AS answered,
       countIf(answered_at IS NOT NULL AND office_hours <= {working_days:Float64} * office_day_hours)
           AS answered_in_time,
       countIf(answered_at IS NULL AND office_hours > {working_days:Float64} * office_day_hours) AS open_overdue,
       sumIf(office_hours, answered_at IS NOT NULL) AS answered_office_hours
FROM v_report_email_lead_times
WHERE toDate(received_at) >= {start:Date} AND toDate(received_at) < {end:Date}
GROUP BY month, queue
ORDER BY queue, month
