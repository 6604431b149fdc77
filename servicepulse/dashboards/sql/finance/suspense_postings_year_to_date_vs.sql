WITH
    toDate($__toTime, 'Europe/Stockholm') AS to_day,
    subtractYears(to_day, 1) AS to_day_last_year
SELECT
    round(100 * (countIf(posting_date >= toStartOfYear(to_day))
        / nullIf(countIf(posting_date <= to_day_last_year), 0) - 1), 1) AS change_vs_last_year
FROM invoice_postings FINAL
WHERE account = '9894' AND amount_ore < 0
  AND ((posting_date >= toStartOfYear(to_day) AND posting_date <= to_day)
    OR (posting_date >= toStartOfYear(to_day_last_year) AND posting_date <= to_day_last_year))
