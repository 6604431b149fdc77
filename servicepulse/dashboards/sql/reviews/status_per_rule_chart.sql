-- Verdicts and open findings per rule, stacked.
SELECT rule_id, confirmed, false_positive, needs_info, open
FROM v_review_status_by_rule
ORDER BY rule_id
