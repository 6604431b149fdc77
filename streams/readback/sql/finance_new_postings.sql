-- The postings stored since the review's cursor: offsets in [next, upto] of each 'topic:partition' (keys and
-- offsets as parallel arrays; a partition missing from next starts at 0, one missing from upto is skipped).
-- Only what names the keys they touch, and the sorting key. The first condition is implied by the others
-- (least: the smallest next offset): a cheap test on the offset alone before the per-partition one.
SELECT event_id, kind, company, account, posting_date, abs(amount_ore), counterparty_id,
       replaceRegexpAll(coalesce(reference, ''), '\\s', ''), coalesce(document_date, posting_date),
       coalesce(approved_by, '')
FROM invoice_postings
WHERE _offset >= {least:Int64}
  AND _offset >= arrayElement({next_offsets:Array(Int64)},
                              indexOf({next_keys:Array(String)}, concat(_topic, ':', toString(_partition))))
  AND _offset <= arrayElement({upto_offsets:Array(Int64)},
                              indexOf({upto_keys:Array(String)}, concat(_topic, ':', toString(_partition))))
