-- Control findings of the period (by when the flagged thing happened) per rule and severity.
SELECT rule_id, severity, count() AS findings
FROM findings FINAL
WHERE toDate(occurred_at) >= {start:Date} AND toDate(occurred_at) < {end:Date}
  AND ({customer:String} = '' OR ifNull(company, '') = {customer:String})
GROUP BY rule_id, severity
ORDER BY rule_id, severity
