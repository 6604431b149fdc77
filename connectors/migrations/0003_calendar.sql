-- The Swedish calendar for the views: every named non-working day (public holidays plus julafton,
-- midsommarafton and nyårsafton). Never typed in here: `migrate` writes the rows from
-- servicepulse/domain/calendar.py (the `holidays` package), for 2000 up to five years after the current year,
-- so the views and the Python rules count working days alike. Weekends are decided by weekday in the views.
CREATE TABLE IF NOT EXISTS non_working_days
(
    day  Date,
    name String
)
ENGINE = ReplacingMergeTree
ORDER BY day;
