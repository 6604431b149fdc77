-- How many stored rows share the sorting key of these postings: more than one per key means a posting was
-- stored again (a source sending it twice) and FINAL may now show a changed version.
SELECT count()
FROM invoice_postings
WHERE (company, account, posting_date, event_id) IN {keys:Array(Tuple(String, String, Date, String))}
