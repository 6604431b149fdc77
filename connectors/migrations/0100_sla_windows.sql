-- SLA windows and complaints. Metrics are views over the exact raw tables (the sink's replay guard makes
-- call_events/complaints exact after a killed worker), so every window result is exact too and never depends
-- on Faust state. The targets live in small tables that `migrate` writes from the parameters file
-- (servicepulse/domain/parameters.toml and an operator's override file): change the file, not the tables.
-- Working days come from the table non_working_days (0003), also written by `migrate`.

-- Service targets per answer group (svarsgrupp); the row with queue '*' holds the targets of a queue not listed.
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

-- Office hours (minutes after local midnight, Europe/Stockholm) and the complaint acknowledgement limit
-- (one row, written by `migrate`).
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

-- Outcomes of live contacts (phone, chat) with the targets of their queue; a contact counts in the window
-- in which it was offered.
CREATE VIEW IF NOT EXISTS v_contact_outcomes AS
SELECT c.queue AS queue, c.org AS org, c.contact_id AS contact_id, c.event_type AS event_type,
       coalesce(c.offered_at, c.occurred_at) AS offered_at, c.wait_ms AS wait_ms,
       c.resolved_first_contact AS resolved_first_contact,
       if(t.queue = '', d.threshold_s, t.threshold_s) AS t_threshold_s,
       if(t.queue = '', d.short_abandon_s, t.short_abandon_s) AS t_short_abandon_s,
       if(t.queue = '', d.service_level_target, t.service_level_target) AS t_service_level_target,
       if(t.queue = '', d.fcr_target, t.fcr_target) AS t_fcr_target
FROM (SELECT * FROM call_events FINAL
      WHERE channel IN ('phone', 'chat') AND event_type IN ('answered', 'abandoned', 'ended')) AS c
LEFT JOIN (SELECT * FROM sla_queue_targets FINAL WHERE queue != '*') AS t ON t.queue = c.queue
CROSS JOIN (SELECT threshold_s, short_abandon_s, service_level_target, fcr_target FROM sla_queue_targets FINAL
            WHERE queue = '*' ORDER BY updated_at DESC LIMIT 1) AS d;

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
       sum(if(toDayOfWeek(d) <= 5 AND d NOT IN (SELECT day FROM non_working_days),
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
