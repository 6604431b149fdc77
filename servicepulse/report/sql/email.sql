-- E-mails received in the period per answer group and month; answered in time = within `working_days` office days.
SELECT formatDateTime(received_at, '%Y-%m') AS month, queue,
       count() AS received,
       countIf(answered_at IS NOT NULL) AS answered,
       countIf(office_hours <= {working_days:Float64} * office_day_hours) AS answered_in_time,
       sum(ifNull(office_hours, 0)) AS answered_office_hours
FROM v_report_email_lead_times
WHERE toDate(received_at) >= {start:Date} AND toDate(received_at) < {end:Date}
GROUP BY month, queue
ORDER BY queue, month
