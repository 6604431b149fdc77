-- Alert keys of rule_id raised and never resolved, read back from the alerts table so a restart neither
-- repeats nor forgets a raise.
SELECT alert_key
FROM alerts FINAL
WHERE rule_id = {rule_id:String}
GROUP BY alert_key
HAVING countIf(state = 'resolved') = 0
