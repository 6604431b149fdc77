-- Exact counts per answer group and 5-minute step of contacts offered since since (epoch ms).
SELECT queue, any(org), toUnixTimestamp(toStartOfFiveMinutes(offered_at)) AS b,
       countIf(event_type = 'answered') + countIf(event_type = 'abandoned')
         - countIf(event_type = 'abandoned' AND wait_ms <= t_short_abandon_s * 1000) AS offered,
       countIf(event_type = 'answered' AND wait_ms <= t_threshold_s * 1000) AS within,
       any(t_service_level_target)
FROM v_contact_outcomes
WHERE offered_at >= fromUnixTimestamp64Milli({since:Int64})
GROUP BY queue, b
