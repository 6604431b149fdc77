-- The newest posting date stored: the event-time end of the review window (1970-01-01 when empty).
SELECT max(posting_date) FROM invoice_postings
