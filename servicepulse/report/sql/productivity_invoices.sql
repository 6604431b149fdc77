-- Supplier and customer invoices per full-time employee, per month and kind (v_productivity_invoices).
SELECT month, kind, invoices, toFloat64(fte) AS fte, invoices_per_fte, target
FROM v_productivity_invoices
WHERE month IN {months:Array(String)}
ORDER BY kind, month
