SELECT
    toStartOfInterval(sampled_at, toIntervalSecond(greatest($__interval_s, 15))) AS time,
    topic,
    max(topic_lag) AS lag
FROM
(
    SELECT sampled_at, topic, sum(lag) AS topic_lag
    FROM consumer_lag
    WHERE $__timeFilter(sampled_at) AND lag IS NOT NULL
    GROUP BY sampled_at, topic
)
GROUP BY time, topic
ORDER BY time, topic
