-- Data quality: input rejected in the period (when it was rejected) per source and kind; counts only.
SELECT source_topic AS source, kind, count() AS dead_letters
FROM dead_letters
WHERE toDate(failed_at) >= {start:Date} AND toDate(failed_at) < {end:Date}
GROUP BY source, kind
ORDER BY source, kind
