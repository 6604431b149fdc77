-- Bank and ledger findings of the selected range per rule, version and severity.
SELECT rule_id, rule_version, severity, count() AS findings,
       uniqExact(ifNull(company, '')) AS companies,
       min(occurred_at) AS first_occurred, max(occurred_at) AS last_occurred
FROM findings FINAL
WHERE $__timeFilter(occurred_at)
  AND (startsWith(rule_id, 'bank.') OR startsWith(rule_id, 'gl.'))
GROUP BY rule_id, rule_version, severity
ORDER BY rule_id, rule_version, severity
