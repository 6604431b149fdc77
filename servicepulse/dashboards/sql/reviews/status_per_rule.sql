-- Review status per rule (v_review_status_by_rule): findings, reviewed, the verdicts and what is still open.
SELECT rule_id, findings, reviewed, round(100 * reviewed / nullIf(findings, 0), 1) AS reviewed_pct,
       confirmed, false_positive, needs_info, open
FROM v_review_status_by_rule
ORDER BY open DESC, rule_id
