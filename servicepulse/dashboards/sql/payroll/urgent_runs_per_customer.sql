SELECT
    customer,
    countIf(payment_channel = 'girovision') AS girovision,
    countIf(payment_channel = 'agresso') AS agresso,
    count() - girovision - agresso AS other_channel
FROM payroll_runs FINAL
WHERE status = 'closed' AND $__timeFilter(occurred_at)
  AND kind = 'urgent'
GROUP BY customer
ORDER BY count() DESC, customer
