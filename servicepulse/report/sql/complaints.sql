-- Complaints, opinions and praise registered in the period per month, customer and process.
SELECT month, customer, process, registered, acknowledged, acknowledged_in_time, closed
FROM v_complaints_by_month
WHERE month IN {months:Array(String)}
  AND ({customer:String} = '' OR customer = {customer:String})
ORDER BY customer, process, month
