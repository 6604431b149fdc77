-- Timed case types and their limit "day 1-N" (a type without cases in the period still gets its row).
SELECT case_type, argMax(limit_days, updated_at) AS limit_days
FROM case_lead_time_limits
GROUP BY case_type
ORDER BY case_type
