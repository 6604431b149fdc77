SELECT topic, partition, argMax(end_offset, sampled_at) AS end_offset_now,
       argMax(committed, sampled_at) AS committed_now, argMax(lag, sampled_at) AS lag_now,
       max(sampled_at) AS last_sample
FROM consumer_lag
WHERE $__timeFilter(sampled_at)
GROUP BY topic, partition
ORDER BY lag_now DESC NULLS LAST, topic, partition
