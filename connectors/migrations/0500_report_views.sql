-- Views for the tertial report (servicepulse/report/) that no earlier view provides: e-mail lead times in office
-- hours and case deadlines "day 1-N". Dashboards and auditors can read them too, so each measure has one
-- definition. Office hours come from sla_settings, working days from non_working_days (both written by `migrate`).

-- One e-mail to a function mailbox: when it came, when it was answered, and the office hours in between (while
-- unanswered: the office hours until now). `office_day_hours` is one full office day: the deadline "within N
-- working days" is office_hours <= N * office_day_hours, as the contact.email_deadline rule counts it, so an
-- unanswered e-mail is late once office_hours passes it and pending before.
CREATE VIEW IF NOT EXISTS v_report_email_lead_times AS
SELECT e.contact_id AS contact_id, e.queue AS queue, e.org AS org, e.received_at AS received_at,
       e.answered_at AS answered_at,
       a.office_hours AS office_hours,
       s.office_day_hours AS office_day_hours
FROM (
    SELECT contact_id, any(queue) AS queue, any(org) AS org,
           minIf(toNullable(occurred_at), event_type = 'email_received') AS received_at,
           minIf(toNullable(occurred_at), event_type = 'email_answered') AS answered_at
    FROM call_events FINAL
    WHERE channel = 'email'
    GROUP BY contact_id
) AS e
LEFT JOIN (
    SELECT contact_id,
           sum(if(toDayOfWeek(d) <= 5 AND d NOT IN (SELECT day FROM non_working_days),
                  greatest(0, least(ans_ms, day_ms + closes_minute * 60000)
                              - greatest(rec_ms, day_ms + opens_minute * 60000)),
                  0)) / 3600000 AS office_hours
    FROM (
        SELECT contact_id, toUnixTimestamp64Milli(assumeNotNull(received_at)) AS rec_ms,
               greatest(assumeNotNull(received_at), ifNull(answered_at, now64(3, 'Europe/Stockholm'))) AS until,
               toUnixTimestamp64Milli(until) AS ans_ms,
               arrayJoin(arrayMap(x -> toDate(x), range(toUInt32(toDate(assumeNotNull(received_at))),
                                                        toUInt32(toDate(until)) + 1))) AS d,
               toInt64(toUnixTimestamp(toDateTime(d, 'Europe/Stockholm'))) * 1000 AS day_ms,
               o.opens_minute AS opens_minute, o.closes_minute AS closes_minute
        FROM (
            SELECT contact_id,
                   minIf(toNullable(occurred_at), event_type = 'email_received') AS received_at,
                   minIf(toNullable(occurred_at), event_type = 'email_answered') AS answered_at
            FROM call_events FINAL
            WHERE channel = 'email'
            GROUP BY contact_id
        ) AS m
        CROSS JOIN (SELECT opens_minute, closes_minute FROM sla_settings FINAL
                    ORDER BY updated_at DESC LIMIT 1) AS o
        WHERE received_at IS NOT NULL
    )
    GROUP BY contact_id
) AS a ON a.contact_id = e.contact_id
CROSS JOIN (SELECT (closes_minute - opens_minute) / 60 AS office_day_hours FROM sla_settings FINAL
            ORDER BY updated_at DESC LIMIT 1) AS s
WHERE e.received_at IS NOT NULL;

-- One timed case (a case type with a limit in case_lead_time_limits) with its deadline: the end of office hours
-- on working day N of "day 1-N", the opening day counting as day 1 unless it is not a working day or the case
-- opened after closing time (then the next working day is day 1), as the contact.case_lead_time rule counts it.
CREATE VIEW IF NOT EXISTS v_report_case_deadlines AS
WITH (SELECT groupArray(day) FROM non_working_days) AS holidays
SELECT c.case_id AS case_id, c.case_type AS case_type, c.unit AS unit, c.customer AS customer,
       c.opened_at AS opened_at, c.closed_at AS closed_at, c.limit_days AS limit_days,
       arrayFilter(d -> toDayOfWeek(d) <= 5 AND NOT has(holidays, d),
                   arrayMap(i -> toDate(c.opened_at) + if(toHour(c.opened_at) * 60 + toMinute(c.opened_at)
                                                            >= s.closes_minute, 1, 0) + i,
                            range(toUInt32(c.limit_days) * 3 + 20)))[c.limit_days] AS due_day,
       toDateTime64(due_day, 3, 'Europe/Stockholm') + toIntervalMinute(s.closes_minute) AS due_at,
       c.closed_at IS NOT NULL AND c.closed_at <= due_at AS closed_in_time
FROM v_case_lead_times AS c
CROSS JOIN (SELECT closes_minute FROM sla_settings FINAL ORDER BY updated_at DESC LIMIT 1) AS s
WHERE c.limit_days > 0;
