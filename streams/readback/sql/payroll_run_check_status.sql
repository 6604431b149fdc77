-- A run's check and its findings as stored: how many checks, how many findings the latest check announced, and
-- how many payroll findings naming the run in their evidence are stored. The worker writes the check row before
-- it sends the findings, which the sink stores later: a reader waits for `stored >= announced`.
SELECT
    (SELECT count() FROM payroll_run_checks WHERE run_id = {run_id:String}) AS checks,
    (SELECT max(findings) FROM payroll_run_checks WHERE run_id = {run_id:String}) AS announced,
    (SELECT count() FROM findings FINAL
     WHERE rule_id LIKE 'payroll.%' AND JSONExtractString(evidence_json, 'run_id') = {run_id:String}) AS stored
