-- Open complaints (registered, not closed) at the start of each given day, per customer (v_complaint_stories).
SELECT e.at AS at, s.customer AS customer,
       countIf(s.registered_at < toDateTime(e.at, 'Europe/Stockholm')
               AND (s.closed_at IS NULL OR s.closed_at >= toDateTime(e.at, 'Europe/Stockholm'))) AS open
FROM (SELECT arrayJoin({days:Array(Date)}) AS at) AS e
CROSS JOIN (SELECT customer, registered_at, closed_at FROM v_complaint_stories
            WHERE registered_at IS NOT NULL
              AND ({customer:String} = '' OR customer = {customer:String})) AS s
GROUP BY at, customer
HAVING open > 0
ORDER BY at, customer
