-- Review status per rule of the period's findings (by when the flagged thing happened): the latest review of each
-- finding decides (v_findings_review_status). open = never reviewed or needs_info; reviewed = confirmed or
-- false_positive.
SELECT rule_id,
       count() AS findings,
       countIf(status IN ('confirmed', 'false_positive')) AS reviewed,
       countIf(status = 'confirmed') AS confirmed,
       countIf(status = 'false_positive') AS false_positive,
       countIf(status = 'needs_info') AS needs_info,
       countIf(status IN ('open', 'needs_info')) AS open
FROM v_findings_review_status
WHERE toDate(occurred_at) >= {start:Date} AND toDate(occurred_at) < {end:Date}
  AND ({customer:String} = '' OR ifNull(company, '') = {customer:String})
GROUP BY rule_id
ORDER BY rule_id
