-- Reviews (issue 12): what auditors concluded about findings and sampled pay documents. Both arrive on topics
-- (finding-reviews, sample-reviews) from `servicepulse findings review` / `samples review` and are stored
-- append-only, like every raw table: the sink's replay guard and dedup token make at-least-once delivery exact,
-- and ReplacingMergeTree on review_id collapses a review a source sent twice (read with FINAL). A later review of
-- the same finding or document does not replace an earlier one: the views take the latest.

CREATE TABLE IF NOT EXISTS finding_reviews
(
    review_id          String,
    finding_id         String,
    rule_id            LowCardinality(String),
    verdict            LowCardinality(String),
    cause              Nullable(String),
    cause_list_version Int32,
    note               Nullable(String),
    reviewer           String,
    reviewed_at        DateTime64(3, 'Europe/Stockholm'),
    source             LowCardinality(String),
    _topic             LowCardinality(String),
    _partition         Int32,
    _offset            Int64,
    _ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (rule_id, finding_id, review_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS sample_reviews
(
    review_id          String,
    run_id             String,
    document           String,
    result             LowCardinality(String),
    cause              Nullable(String),
    cause_list_version Int32,
    note               Nullable(String),
    reviewer           String,
    reviewed_at        DateTime64(3, 'Europe/Stockholm'),
    source             LowCardinality(String),
    _topic             LowCardinality(String),
    _partition         Int32,
    _offset            Int64,
    _ingested_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (run_id, document, review_id)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_finding_reviews TO sink_watermarks AS
SELECT 'finding_reviews' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM finding_reviews GROUP BY _topic, _partition;

CREATE MATERIALIZED VIEW IF NOT EXISTS mv_watermark_sample_reviews TO sink_watermarks AS
SELECT 'sample_reviews' AS table_name, _topic AS topic, _partition AS partition,
       max(_offset) AS max_offset, count() AS rows
FROM sample_reviews GROUP BY _topic, _partition;

-- The cause codes of reviews, with Swedish and English labels. Never typed in here: `migrate` writes the rows
-- from [review_causes] in servicepulse/domain/parameters.toml, with the list's version.
CREATE TABLE IF NOT EXISTS review_causes
(
    code     String,
    version  Int32,
    label_sv String,
    label_en String
)
ENGINE = ReplacingMergeTree
ORDER BY code;

-- One row per finding with its review status: the latest review (by time, then id) decides. status: open (no
-- review yet), needs_info, confirmed or false_positive.
CREATE VIEW IF NOT EXISTS v_findings_review_status AS
WITH latest AS (
    SELECT finding_id,
           argMax(verdict, (reviewed_at, review_id)) AS last_verdict,
           argMax(cause, (reviewed_at, review_id)) AS last_cause,
           argMax(note, (reviewed_at, review_id)) AS last_note,
           argMax(reviewer, (reviewed_at, review_id)) AS last_reviewer,
           max(reviewed_at) AS last_reviewed_at,
           count() AS reviews
    FROM finding_reviews FINAL
    GROUP BY finding_id
)
SELECT f.finding_id AS finding_id, f.rule_id AS rule_id, f.rule_version AS rule_version, f.severity AS severity,
       f.subject_type AS subject_type, f.subject_id AS subject_id, f.company AS company,
       f.occurred_at AS occurred_at, f.detected_at AS detected_at, f.summary AS summary,
       if(l.finding_id = '', 'open', l.last_verdict) AS status,
       if(l.finding_id = '', NULL, l.last_verdict) AS verdict,
       l.last_cause AS cause,
       l.last_note AS note,
       if(l.finding_id = '', NULL, l.last_reviewer) AS reviewer,
       if(l.finding_id = '', NULL, l.last_reviewed_at) AS reviewed_at,
       toUInt64(l.reviews) AS reviews
FROM findings AS f FINAL
LEFT JOIN latest AS l ON l.finding_id = f.finding_id;

-- Findings still to be concluded: never reviewed, or reviewed as needing more information.
CREATE VIEW IF NOT EXISTS v_findings_open AS
SELECT * FROM v_findings_review_status WHERE status IN ('open', 'needs_info');

-- Review status per rule (all time; the tertial report narrows v_findings_review_status to its period).
-- findings = confirmed + false_positive + needs_info + never reviewed; reviewed = confirmed + false_positive;
-- open = needs_info + never reviewed.
CREATE VIEW IF NOT EXISTS v_review_status_by_rule AS
SELECT rule_id,
       count() AS findings,
       countIf(status IN ('confirmed', 'false_positive')) AS reviewed,
       countIf(status = 'confirmed') AS confirmed,
       countIf(status = 'false_positive') AS false_positive,
       countIf(status = 'needs_info') AS needs_info,
       countIf(status IN ('open', 'needs_info')) AS open
FROM v_findings_review_status
GROUP BY rule_id;

-- One row per sampled pay document with its latest result: result is '' until reviewed, then ok or error.
-- The month is the run's pay date.
CREATE VIEW IF NOT EXISTS v_sample_documents AS
WITH docs AS (
    SELECT DISTINCT run_id, arrayJoin(documents) AS document FROM payroll_samples FINAL
),
latest AS (
    SELECT run_id, document,
           argMax(result, (reviewed_at, review_id)) AS last_result,
           argMax(cause, (reviewed_at, review_id)) AS last_cause,
           argMax(note, (reviewed_at, review_id)) AS last_note,
           argMax(reviewer, (reviewed_at, review_id)) AS last_reviewer,
           max(reviewed_at) AS last_reviewed_at
    FROM sample_reviews FINAL
    GROUP BY run_id, document
),
runs AS (
    SELECT run_id, any(customer) AS customer, any(pay_date) AS pay_date FROM payroll_runs FINAL GROUP BY run_id
)
SELECT d.run_id AS run_id, d.document AS document, r.customer AS customer, r.pay_date AS pay_date,
       l.last_result AS result, l.last_cause AS cause, l.last_note AS note,
       if(l.run_id = '', NULL, l.last_reviewer) AS reviewer,
       if(l.run_id = '', NULL, l.last_reviewed_at) AS reviewed_at
FROM docs AS d
LEFT JOIN latest AS l ON l.run_id = d.run_id AND l.document = d.document
LEFT JOIN runs AS r ON r.run_id = d.run_id;

-- Every error an auditor found, one row each: a confirmed finding (dated by when the flagged thing happened) or a
-- sampled pay document in error (dated by the run's pay date); the latest review of each counts.
CREATE VIEW IF NOT EXISTS v_review_errors AS
SELECT 'finding' AS origin, finding_id AS item, rule_id, ifNull(cause, 'other') AS cause, toDate(occurred_at) AS day,
       ifNull(company, '') AS customer
FROM v_findings_review_status WHERE status = 'confirmed'
UNION ALL
SELECT 'sample' AS origin, concat(run_id, '/', document) AS item, '' AS rule_id, ifNull(cause, 'other') AS cause,
       if(pay_date IS NULL OR pay_date = toDate(0), toDate(reviewed_at), pay_date) AS day,
       ifNull(customer, '') AS customer
FROM v_sample_documents WHERE result = 'error';

-- Error causes per month and tertial (T1 Jan-Apr, T2 May-Aug, T3 Sep-Dec), with the cause's labels.
CREATE VIEW IF NOT EXISTS v_error_causes_monthly AS
SELECT formatDateTime(e.day, '%Y-%m') AS month,
       concat(toString(toYear(e.day)), '-T', toString(intDiv(toMonth(e.day) - 1, 4) + 1)) AS tertial,
       e.cause AS cause, any(c.label_sv) AS label_sv, any(c.label_en) AS label_en,
       countIf(e.origin = 'finding') AS findings,
       countIf(e.origin = 'sample') AS samples,
       count() AS errors
FROM v_review_errors AS e
LEFT JOIN (SELECT code, label_sv, label_en FROM review_causes FINAL) AS c ON c.code = e.cause
GROUP BY month, tertial, cause;
