-- Contact centre per answer group and month: the sums of v_service_level's 15-minute windows in the period.
-- (Columns in expressions are qualified: an alias of the same name would be an aggregate.)
-- ASA is rebuilt from its windows (asa_s x answered = seconds waited by answered contacts).
SELECT formatDateTime(window_start, '%Y-%m') AS month, queue, any(org) AS org,
       sum(offered) AS offered, sum(answered) AS answered,
       sum(answered_within_threshold) AS answered_within_threshold,
       sum(abandoned) AS abandoned, sum(short_abandoned) AS short_abandoned,
       sum(ifNull(w.asa_s, 0) * w.answered) AS answered_wait_s,
       sum(fcr_ended) AS fcr_ended, sum(fcr_resolved) AS fcr_resolved
FROM v_service_level AS w
WHERE toDate(window_start) >= {start:Date} AND toDate(window_start) < {end:Date}
GROUP BY month, queue
ORDER BY queue, month
