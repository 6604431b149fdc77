SELECT
    company,
    subject_id,
    summary,
    occurred_at
FROM findings FINAL
WHERE rule_id = 'gl.suspense_posting'
  AND $__timeFilter(occurred_at)
ORDER BY occurred_at DESC
LIMIT 1000
