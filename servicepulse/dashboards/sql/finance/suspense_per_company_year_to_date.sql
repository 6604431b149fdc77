WITH
    toDate($__toTime, 'Europe/Stockholm') AS to_day,
    subtractYears(to_day, 1) AS to_day_last_year
SELECT
    company,
    countIf(posting_date >= toStartOfYear(to_day)) AS year_to_date,
    countIf(posting_date <= to_day_last_year) AS same_period_last_year,
    round(100 * (year_to_date / nullIf(same_period_last_year, 0) - 1), 1) AS change_pct,
    round(100 * any(t.goal), 1) AS goal_pct,
    if(same_period_last_year = 0, 'no baseline',
       if(year_to_date <= same_period_last_year * (1 + any(t.goal)), 'on track', 'above goal')) AS status
FROM invoice_postings FINAL
CROSS JOIN (SELECT any(value) AS goal FROM business_targets FINAL WHERE name = 'suspense_yearly_change') AS t
WHERE account = '9894' AND amount_ore < 0
  AND ((posting_date >= toStartOfYear(to_day) AND posting_date <= to_day)
    OR (posting_date >= toStartOfYear(to_day_last_year) AND posting_date <= to_day_last_year))
GROUP BY company
ORDER BY company
