-- Open complaints at the end of each Stockholm day of the selected range, per customer.
SELECT toDateTime(d.day, 'Europe/Stockholm') AS time, s.customer AS customer,
       countIf(s.registered_at < toDateTime(d.day + 1, 'Europe/Stockholm')
               AND (s.closed_at IS NULL OR s.closed_at >= toDateTime(d.day + 1, 'Europe/Stockholm'))) AS open
FROM (
    SELECT arrayJoin(arrayMap(i -> toDate($__fromTime, 'Europe/Stockholm') + i,
                              range(toUInt32(dateDiff('day', toDate($__fromTime, 'Europe/Stockholm'),
                                                      toDate($__toTime, 'Europe/Stockholm')) + 1)))) AS day
) AS d
CROSS JOIN (SELECT customer, registered_at, closed_at FROM v_complaint_stories WHERE registered_at IS NOT NULL) AS s
WHERE $__dateFilter(d.day)
GROUP BY time, customer
HAVING open > 0
ORDER BY time
