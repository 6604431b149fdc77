-- SLA windows and complaints (issue 3). Metrics are views over the exact raw tables (the sink's replay
-- guard makes call_events/complaints exact after a killed worker), so every window result is exact too and
-- never depends on Faust state. Configuration lives in small tables an operator can change with an INSERT
-- (ReplacingMergeTree on updated_at: the newest row wins).

-- Service targets per answer group (svarsgrupp). Defaults from the seeds; a queue missing here gets
-- 60 s / 85 % / 80 % / 5 s.
CREATE TABLE IF NOT EXISTS sla_queue_targets
(
    queue                LowCardinality(String),
    threshold_s          Int32,
    service_level_target Float64,
    fcr_target           Float64,
    short_abandon_s      Int32,
    updated_at           DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY queue
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO sla_queue_targets (queue, threshold_s, service_level_target, fcr_target, short_abandon_s, updated_at) VALUES
('payroll-service', 60, 0.85, 0.95, 5, '2026-01-01 00:00:00'),
('manager-support', 60, 0.85, 1.0, 5, '2026-01-01 00:00:00'),
('pension-group', 60, 0.85, 1.0, 5, '2026-01-01 00:00:00'),
('kc-education', 60, 0.85, 0.80, 5, '2026-01-01 00:00:00'),
('kc-social', 60, 0.85, 0.80, 5, '2026-01-01 00:00:00'),
('kc-city-planning', 60, 0.85, 0.80, 5, '2026-01-01 00:00:00'),
('kc-parking', 60, 0.85, 0.80, 5, '2026-01-01 00:00:00'),
('vasby-direkt', 120, 0.85, 0.72, 5, '2026-01-01 00:00:00');

-- Office hours (minutes after local midnight, Europe/Stockholm) and the complaint acknowledgement limit.
CREATE TABLE IF NOT EXISTS sla_settings
(
    opens_minute     Int32,
    closes_minute    Int32,
    ack_office_hours Float64,
    updated_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY tuple()
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO sla_settings (opens_minute, closes_minute, ack_office_hours, updated_at) VALUES
(480, 990, 8, '2026-01-01 00:00:00');

-- Weekdays that are not working days 2020-2035: Swedish public holidays plus julafton, midsommarafton and
-- nyårsafton (the `holidays` package, categories public + de_facto; generated from servicepulse's calendar).
CREATE TABLE IF NOT EXISTS sla_non_working_days
(
    day  Date,
    name String
)
ENGINE = ReplacingMergeTree
ORDER BY day
SETTINGS non_replicated_deduplication_window = 1000;

INSERT INTO sla_non_working_days (day, name) VALUES
('2020-01-01', 'Nyårsdagen'),
('2020-01-06', 'Trettondedag jul'),
('2020-04-10', 'Långfredagen'),
('2020-04-13', 'Annandag påsk'),
('2020-05-01', 'Första maj'),
('2020-05-21', 'Kristi himmelsfärdsdag'),
('2020-06-19', 'Midsommarafton'),
('2020-12-24', 'Julafton'),
('2020-12-25', 'Juldagen'),
('2020-12-31', 'Nyårsafton'),
('2021-01-01', 'Nyårsdagen'),
('2021-01-06', 'Trettondedag jul'),
('2021-04-02', 'Långfredagen'),
('2021-04-05', 'Annandag påsk'),
('2021-05-13', 'Kristi himmelsfärdsdag'),
('2021-06-25', 'Midsommarafton'),
('2021-12-24', 'Julafton'),
('2021-12-31', 'Nyårsafton'),
('2022-01-06', 'Trettondedag jul'),
('2022-04-15', 'Långfredagen'),
('2022-04-18', 'Annandag påsk'),
('2022-05-26', 'Kristi himmelsfärdsdag'),
('2022-06-06', 'Nationaldagen'),
('2022-06-24', 'Midsommarafton'),
('2022-12-26', 'Annandag jul'),
('2023-01-06', 'Trettondedag jul'),
('2023-04-07', 'Långfredagen'),
('2023-04-10', 'Annandag påsk'),
('2023-05-01', 'Första maj'),
('2023-05-18', 'Kristi himmelsfärdsdag'),
('2023-06-06', 'Nationaldagen'),
('2023-06-23', 'Midsommarafton'),
('2023-12-25', 'Juldagen'),
('2023-12-26', 'Annandag jul'),
('2024-01-01', 'Nyårsdagen'),
('2024-03-29', 'Långfredagen'),
('2024-04-01', 'Annandag påsk'),
('2024-05-01', 'Första maj'),
('2024-05-09', 'Kristi himmelsfärdsdag'),
('2024-06-06', 'Nationaldagen'),
('2024-06-21', 'Midsommarafton'),
('2024-12-24', 'Julafton'),
('2024-12-25', 'Juldagen'),
('2024-12-26', 'Annandag jul'),
('2024-12-31', 'Nyårsafton'),
('2025-01-01', 'Nyårsdagen'),
('2025-01-06', 'Trettondedag jul'),
('2025-04-18', 'Långfredagen'),
('2025-04-21', 'Annandag påsk'),
('2025-05-01', 'Första maj'),
('2025-05-29', 'Kristi himmelsfärdsdag'),
('2025-06-06', 'Nationaldagen'),
('2025-06-20', 'Midsommarafton'),
('2025-12-24', 'Julafton'),
('2025-12-25', 'Juldagen'),
('2025-12-26', 'Annandag jul'),
('2025-12-31', 'Nyårsafton'),
('2026-01-01', 'Nyårsdagen'),
('2026-01-06', 'Trettondedag jul'),
('2026-04-03', 'Långfredagen'),
('2026-04-06', 'Annandag påsk'),
('2026-05-01', 'Första maj'),
('2026-05-14', 'Kristi himmelsfärdsdag'),
('2026-06-19', 'Midsommarafton'),
('2026-12-24', 'Julafton'),
('2026-12-25', 'Juldagen'),
('2026-12-31', 'Nyårsafton'),
('2027-01-01', 'Nyårsdagen'),
('2027-01-06', 'Trettondedag jul'),
('2027-03-26', 'Långfredagen'),
('2027-03-29', 'Annandag påsk'),
('2027-05-06', 'Kristi himmelsfärdsdag'),
('2027-06-25', 'Midsommarafton'),
('2027-12-24', 'Julafton'),
('2027-12-31', 'Nyårsafton'),
('2028-01-06', 'Trettondedag jul'),
('2028-04-14', 'Långfredagen'),
('2028-04-17', 'Annandag påsk'),
('2028-05-01', 'Första maj'),
('2028-05-25', 'Kristi himmelsfärdsdag'),
('2028-06-06', 'Nationaldagen'),
('2028-06-23', 'Midsommarafton'),
('2028-12-25', 'Juldagen'),
('2028-12-26', 'Annandag jul'),
('2029-01-01', 'Nyårsdagen'),
('2029-03-30', 'Långfredagen'),
('2029-04-02', 'Annandag påsk'),
('2029-05-01', 'Första maj'),
('2029-05-10', 'Kristi himmelsfärdsdag'),
('2029-06-06', 'Nationaldagen'),
('2029-06-22', 'Midsommarafton'),
('2029-12-24', 'Julafton'),
('2029-12-25', 'Juldagen'),
('2029-12-26', 'Annandag jul'),
('2029-12-31', 'Nyårsafton'),
('2030-01-01', 'Nyårsdagen'),
('2030-04-19', 'Långfredagen'),
('2030-04-22', 'Annandag påsk'),
('2030-05-01', 'Första maj'),
('2030-05-30', 'Kristi himmelsfärdsdag'),
('2030-06-06', 'Nationaldagen'),
('2030-06-21', 'Midsommarafton'),
('2030-12-24', 'Julafton'),
('2030-12-25', 'Juldagen'),
('2030-12-26', 'Annandag jul'),
('2030-12-31', 'Nyårsafton'),
('2031-01-01', 'Nyårsdagen'),
('2031-01-06', 'Trettondedag jul'),
('2031-04-11', 'Långfredagen'),
('2031-04-14', 'Annandag påsk'),
('2031-05-01', 'Första maj'),
('2031-05-22', 'Kristi himmelsfärdsdag'),
('2031-06-06', 'Nationaldagen'),
('2031-06-20', 'Midsommarafton'),
('2031-12-24', 'Julafton'),
('2031-12-25', 'Juldagen'),
('2031-12-26', 'Annandag jul'),
('2031-12-31', 'Nyårsafton'),
('2032-01-01', 'Nyårsdagen'),
('2032-01-06', 'Trettondedag jul'),
('2032-03-26', 'Långfredagen'),
('2032-03-29', 'Annandag påsk'),
('2032-05-06', 'Kristi himmelsfärdsdag'),
('2032-06-25', 'Midsommarafton'),
('2032-12-24', 'Julafton'),
('2032-12-31', 'Nyårsafton'),
('2033-01-06', 'Trettondedag jul'),
('2033-04-15', 'Långfredagen'),
('2033-04-18', 'Annandag påsk'),
('2033-05-26', 'Kristi himmelsfärdsdag'),
('2033-06-06', 'Nationaldagen'),
('2033-06-24', 'Midsommarafton'),
('2033-12-26', 'Annandag jul'),
('2034-01-06', 'Trettondedag jul'),
('2034-04-07', 'Långfredagen'),
('2034-04-10', 'Annandag påsk'),
('2034-05-01', 'Första maj'),
('2034-05-18', 'Kristi himmelsfärdsdag'),
('2034-06-06', 'Nationaldagen'),
('2034-06-23', 'Midsommarafton'),
('2034-12-25', 'Juldagen'),
('2034-12-26', 'Annandag jul'),
('2035-01-01', 'Nyårsdagen'),
('2035-03-23', 'Långfredagen'),
('2035-03-26', 'Annandag påsk'),
('2035-05-01', 'Första maj'),
('2035-05-03', 'Kristi himmelsfärdsdag'),
('2035-06-06', 'Nationaldagen'),
('2035-06-22', 'Midsommarafton'),
('2035-12-24', 'Julafton'),
('2035-12-25', 'Juldagen'),
('2035-12-26', 'Annandag jul'),
('2035-12-31', 'Nyårsafton');

-- Outcomes of live contacts (phone, chat) with the targets of their queue; a contact counts in the window
-- in which it was offered.
CREATE VIEW IF NOT EXISTS v_contact_outcomes AS
SELECT c.queue AS queue, c.org AS org, c.contact_id AS contact_id, c.event_type AS event_type,
       coalesce(c.offered_at, c.occurred_at) AS offered_at, c.wait_ms AS wait_ms,
       c.resolved_first_contact AS resolved_first_contact,
       if(t.queue = '', 60, t.threshold_s) AS t_threshold_s,
       if(t.queue = '', 5, t.short_abandon_s) AS t_short_abandon_s,
       if(t.queue = '', 0.85, t.service_level_target) AS t_service_level_target,
       if(t.queue = '', 0.80, t.fcr_target) AS t_fcr_target
FROM (SELECT * FROM call_events FINAL
      WHERE channel IN ('phone', 'chat') AND event_type IN ('answered', 'abandoned', 'ended')) AS c
LEFT JOIN (SELECT * FROM sla_queue_targets FINAL) AS t ON t.queue = c.queue;

-- 15-minute tumbling windows per answer group, Stockholm time.
CREATE VIEW IF NOT EXISTS v_service_level AS
SELECT toDateTime(toStartOfFifteenMinutes(offered_at), 'Europe/Stockholm') AS window_start,
       window_start + INTERVAL 15 MINUTE AS window_end,
       queue, any(org) AS org,
       countIf(event_type = 'answered') AS answered,
       countIf(event_type = 'answered' AND wait_ms <= t_threshold_s * 1000) AS answered_within_threshold,
       countIf(event_type = 'abandoned') AS abandoned,
       countIf(event_type = 'abandoned' AND wait_ms <= t_short_abandon_s * 1000) AS short_abandoned,
       answered + abandoned - short_abandoned AS offered,
       if(offered = 0, NULL, answered_within_threshold / offered) AS service_level,
       if(answered = 0, NULL, sumIf(wait_ms, event_type = 'answered') / answered / 1000) AS asa_s,
       if(offered = 0, NULL, (abandoned - short_abandoned) / offered) AS abandonment_rate,
       countIf(event_type = 'ended' AND resolved_first_contact IS NOT NULL) AS fcr_ended,
       countIf(event_type = 'ended' AND resolved_first_contact) AS fcr_resolved,
       if(fcr_ended = 0, NULL, fcr_resolved / fcr_ended) AS fcr,
       any(t_threshold_s) AS threshold_s, any(t_service_level_target) AS service_level_target,
       any(t_fcr_target) AS fcr_target
FROM v_contact_outcomes
GROUP BY window_start, queue;

-- Rolling hour, 5-minute step: the window [window_start, window_start + 1 h) for every 5-minute start.
CREATE VIEW IF NOT EXISTS v_service_level_hourly AS
SELECT toDateTime(toStartOfFiveMinutes(offered_at) - toIntervalMinute(5 * k), 'Europe/Stockholm') AS window_start,
       window_start + INTERVAL 1 HOUR AS window_end,
       queue, any(org) AS org,
       countIf(event_type = 'answered') AS answered,
       countIf(event_type = 'answered' AND wait_ms <= t_threshold_s * 1000) AS answered_within_threshold,
       countIf(event_type = 'abandoned') AS abandoned,
       countIf(event_type = 'abandoned' AND wait_ms <= t_short_abandon_s * 1000) AS short_abandoned,
       answered + abandoned - short_abandoned AS offered,
       if(offered = 0, NULL, answered_within_threshold / offered) AS service_level,
       if(answered = 0, NULL, sumIf(wait_ms, event_type = 'answered') / answered / 1000) AS asa_s,
       if(offered = 0, NULL, (abandoned - short_abandoned) / offered) AS abandonment_rate,
       countIf(event_type = 'ended' AND resolved_first_contact IS NOT NULL) AS fcr_ended,
       countIf(event_type = 'ended' AND resolved_first_contact) AS fcr_resolved,
       if(fcr_ended = 0, NULL, fcr_resolved / fcr_ended) AS fcr,
       any(t_service_level_target) AS service_level_target
FROM v_contact_outcomes
ARRAY JOIN range(12) AS k
GROUP BY window_start, queue;

-- One row per complaint: its steps as far as seen.
CREATE VIEW IF NOT EXISTS v_complaint_stories AS
SELECT complaint_id, any(customer) AS customer, any(process) AS process, any(category) AS category,
       minIf(toNullable(occurred_at), event_type = 'registered') AS registered_at,
       minIf(toNullable(occurred_at), event_type = 'acknowledged') AS acknowledged_at,
       minIf(toNullable(occurred_at), event_type = 'closed') AS closed_at
FROM complaints FINAL
GROUP BY complaint_id;

-- Office hours from registration to acknowledgement (working days and office hours from the tables above).
CREATE VIEW IF NOT EXISTS v_complaint_ack AS
SELECT complaint_id,
       sum(if(toDayOfWeek(d) <= 5 AND d NOT IN (SELECT day FROM sla_non_working_days),
              greatest(0, least(ack_ms, day_ms + closes_minute * 60000) - greatest(reg_ms, day_ms + opens_minute * 60000)),
              0)) / 3600000 AS ack_office_hours,
       any(limit_hours) AS ack_limit_hours
FROM (
    SELECT complaint_id, toUnixTimestamp64Milli(assumeNotNull(registered_at)) AS reg_ms,
           toUnixTimestamp64Milli(assumeNotNull(acknowledged_at)) AS ack_ms,
           arrayJoin(arrayMap(x -> toDate(x), range(toUInt32(toDate(assumeNotNull(registered_at))),
                                                    toUInt32(toDate(assumeNotNull(acknowledged_at))) + 1))) AS d,
           toInt64(toUnixTimestamp(toDateTime(d, 'Europe/Stockholm'))) * 1000 AS day_ms,
           s.opens_minute AS opens_minute, s.closes_minute AS closes_minute, s.ack_office_hours AS limit_hours
    FROM v_complaint_stories
    CROSS JOIN (SELECT opens_minute, closes_minute, ack_office_hours FROM sla_settings FINAL
                ORDER BY updated_at DESC LIMIT 1) AS s
    WHERE registered_at IS NOT NULL AND acknowledged_at IS NOT NULL
)
GROUP BY complaint_id;

-- Complaints per tertial (T1 Jan-Apr, T2 May-Aug, T3 Sep-Dec), customer and process, by registration.
CREATE VIEW IF NOT EXISTS v_complaints_by_tertial AS
SELECT concat(toString(toYear(s.registered_at)), '-T', toString(intDiv(toMonth(s.registered_at) - 1, 4) + 1)) AS tertial,
       s.customer AS customer, s.process AS process,
       count() AS registered,
       countIf(s.acknowledged_at IS NOT NULL) AS acknowledged,
       countIf(s.acknowledged_at IS NOT NULL AND a.ack_office_hours <= a.ack_limit_hours) AS acknowledged_in_time,
       countIf(s.closed_at IS NOT NULL) AS closed,
       countIf(s.category = 'complaint') AS complaints,
       countIf(s.category = 'opinion') AS opinions,
       countIf(s.category = 'praise') AS praise
FROM v_complaint_stories AS s
LEFT JOIN v_complaint_ack AS a ON a.complaint_id = s.complaint_id
WHERE s.registered_at IS NOT NULL
GROUP BY tertial, customer, process;

-- The same per month.
CREATE VIEW IF NOT EXISTS v_complaints_by_month AS
SELECT formatDateTime(s.registered_at, '%Y-%m') AS month,
       s.customer AS customer, s.process AS process,
       count() AS registered,
       countIf(s.acknowledged_at IS NOT NULL) AS acknowledged,
       countIf(s.acknowledged_at IS NOT NULL AND a.ack_office_hours <= a.ack_limit_hours) AS acknowledged_in_time,
       countIf(s.closed_at IS NOT NULL) AS closed
FROM v_complaint_stories AS s
LEFT JOIN v_complaint_ack AS a ON a.complaint_id = s.complaint_id
WHERE s.registered_at IS NOT NULL
GROUP BY month, customer, process;

-- Open complaints now (registered, not closed), with their age; no personal data.
CREATE VIEW IF NOT EXISTS v_complaint_backlog AS
SELECT complaint_id, customer, process, category, registered_at, acknowledged_at,
       dateDiff('hour', registered_at, now64(3)) AS age_hours
FROM v_complaint_stories
WHERE registered_at IS NOT NULL AND closed_at IS NULL;
