-- Payslips per payroll administrator (FTE) and month of the selected range, against payslips_per_fte
-- (business_targets, from the parameters file). A month without staffing rows has no ratio.
SELECT month, payslips, toFloat64(fte) AS fte, round(payslips_per_fte, 1) AS payslips_per_fte,
       target, if(payslips_per_fte IS NULL, 'no staffing', if(payslips_per_fte >= target, 'met', 'below'))
           AS target_met
FROM v_productivity_payslips
WHERE month >= formatDateTime($__fromTime, '%Y-%m', 'Europe/Stockholm')
  AND month <= formatDateTime($__toTime, '%Y-%m', 'Europe/Stockholm')
ORDER BY month
