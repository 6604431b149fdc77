-- Open 9894 items now by age band in working days; the last band starts above the gl.suspense_aged limit.
SELECT multiIf(age_working_days <= 5, '0-5',
               age_working_days <= {{gl.suspense_aged:max_working_days}}, '6-{{gl.suspense_aged:max_working_days}}',
               age_working_days <= 3 * {{gl.suspense_aged:max_working_days}}, 'aged',
               'aged, over 3x the limit') AS age_band,
       count() AS open_items
FROM v_suspense_open_items
WHERE account IN (SELECT account FROM finance_suspense_accounts FINAL WHERE role = 'unidentified')
GROUP BY age_band
ORDER BY min(age_working_days)
