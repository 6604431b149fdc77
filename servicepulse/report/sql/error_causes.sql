-- Errors found in the period per cause: confirmed findings (by when the flagged thing happened) and sampled pay
-- documents in error (by the run's pay date), each counted once by its latest review (v_review_errors).
SELECT e.cause AS cause, any(c.label_sv) AS label_sv, any(c.label_en) AS label_en,
       countIf(e.origin = 'finding') AS findings,
       countIf(e.origin = 'sample') AS samples,
       count() AS errors
FROM v_review_errors AS e
LEFT JOIN (SELECT code, label_sv, label_en FROM review_causes FINAL) AS c ON c.code = e.cause
WHERE e.day >= {start:Date} AND e.day < {end:Date}
  AND ({customer:String} = '' OR e.customer = {customer:String})
GROUP BY cause
ORDER BY errors DESC, cause
