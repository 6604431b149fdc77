-- Supplier and customer invoices per FTE and month of the selected range, against their targets
-- (business_targets, from the parameters file).
SELECT month, kind, invoices, toFloat64(fte) AS fte, round(invoices_per_fte, 1) AS invoices_per_fte,
       target, if(invoices_per_fte IS NULL, 'no staffing', if(invoices_per_fte >= target, 'met', 'below'))
           AS target_met
FROM v_productivity_invoices
WHERE month >= formatDateTime($__fromTime, '%Y-%m', 'Europe/Stockholm')
  AND month <= formatDateTime($__toTime, '%Y-%m', 'Europe/Stockholm')
ORDER BY month, kind
