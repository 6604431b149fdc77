-- Payslips per FTE per month beside the target, for the bar chart.
SELECT month, round(payslips_per_fte, 1) AS payslips_per_fte, target
FROM v_productivity_payslips
WHERE month >= formatDateTime($__fromTime, '%Y-%m', 'Europe/Stockholm')
  AND month <= formatDateTime($__toTime, '%Y-%m', 'Europe/Stockholm')
ORDER BY month
