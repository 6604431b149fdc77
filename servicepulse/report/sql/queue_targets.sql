-- Every answer group with targets (a group without contacts in the period still gets its row: "no data").
SELECT queue, threshold_s, service_level_target, fcr_target
FROM sla_queue_targets FINAL
WHERE queue != '*'
ORDER BY queue
