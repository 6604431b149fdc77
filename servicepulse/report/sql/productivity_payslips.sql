-- Payslips per full-time payroll administrator, per month of the period (v_productivity_payslips).
SELECT month, payslips, toFloat64(fte) AS fte, payslips_per_fte, target
FROM v_productivity_payslips
WHERE month IN {months:Array(String)}
ORDER BY month
