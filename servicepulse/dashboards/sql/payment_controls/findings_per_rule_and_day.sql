-- Findings of the bank and ledger controls (rules bank.*, gl.*) per rule and Stockholm day of the flagged event.
SELECT toStartOfDay(occurred_at) AS time, rule_id, count() AS findings
FROM findings FINAL
WHERE $__timeFilter(occurred_at)
  AND (startsWith(rule_id, 'bank.') OR startsWith(rule_id, 'gl.'))
GROUP BY time, rule_id
ORDER BY time
