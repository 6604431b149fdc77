-- Has finance_posting_keys been filled from the postings stored before its view (a row once it has)?
SELECT count() FROM finance_posting_keys_backfill
