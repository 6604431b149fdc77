-- Contact metrics per organisation (all its answer groups together), 15-minute windows, Stockholm time.
-- Each contact counts against its own answer group's threshold (v_contact_outcomes).
CREATE VIEW IF NOT EXISTS v_service_level_by_org AS
SELECT toDateTime(toStartOfFifteenMinutes(offered_at), 'Europe/Stockholm') AS window_start,
       window_start + INTERVAL 15 MINUTE AS window_end,
       org,
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
       if(fcr_ended = 0, NULL, fcr_resolved / fcr_ended) AS fcr
FROM v_contact_outcomes
GROUP BY window_start, org;
