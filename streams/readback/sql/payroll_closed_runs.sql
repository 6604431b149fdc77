-- Closed run headers with a pay date in [first, last], oldest first.
SELECT * EXCEPT (_topic, _partition, _offset, _ingested_at)
FROM payroll_runs FINAL
WHERE status = 'closed' AND pay_date BETWEEN {first:Date} AND {last:Date}
ORDER BY pay_date, run_id
