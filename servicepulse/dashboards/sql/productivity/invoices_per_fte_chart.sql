-- Supplier and customer invoices per FTE per month beside their targets, one row per month for the bar chart.
SELECT month,
       round(anyIf(invoices_per_fte, kind = 'supplier_invoice'), 1) AS supplier_per_fte,
       anyIf(target, kind = 'supplier_invoice') AS supplier_target,
       round(anyIf(invoices_per_fte, kind = 'customer_invoice'), 1) AS customer_per_fte,
       anyIf(target, kind = 'customer_invoice') AS customer_target
FROM v_productivity_invoices
WHERE month >= formatDateTime($__fromTime, '%Y-%m', 'Europe/Stockholm')
  AND month <= formatDateTime($__toTime, '%Y-%m', 'Europe/Stockholm')
GROUP BY month
ORDER BY month
