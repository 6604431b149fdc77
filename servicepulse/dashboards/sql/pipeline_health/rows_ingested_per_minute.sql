SELECT
    toStartOfInterval(_ingested_at, toIntervalSecond(greatest($__interval_s, 60))) AS time,
    table_name,
    count() * 60 / greatest($__interval_s, 60) AS rows_per_minute
FROM
(
    SELECT 'call_events' AS table_name, _ingested_at FROM call_events WHERE $__timeFilter(_ingested_at)
    UNION ALL
    SELECT 'invoice_postings' AS table_name, _ingested_at FROM invoice_postings WHERE $__timeFilter(_ingested_at)
    UNION ALL
    SELECT 'payroll_runs' AS table_name, _ingested_at FROM payroll_runs WHERE $__timeFilter(_ingested_at)
    UNION ALL
    SELECT 'payroll_lines' AS table_name, _ingested_at FROM payroll_lines WHERE $__timeFilter(_ingested_at)
    UNION ALL
    SELECT 'complaints' AS table_name, _ingested_at FROM complaints WHERE $__timeFilter(_ingested_at)
    UNION ALL
    SELECT 'findings' AS table_name, _ingested_at FROM findings WHERE $__timeFilter(_ingested_at)
    UNION ALL
    SELECT 'alerts' AS table_name, _ingested_at FROM alerts WHERE $__timeFilter(_ingested_at)
    UNION ALL
    SELECT 'dead_letters' AS table_name, _ingested_at FROM dead_letters WHERE $__timeFilter(_ingested_at)
)
GROUP BY time, table_name
ORDER BY time, table_name
