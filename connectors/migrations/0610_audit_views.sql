-- Auditor access (issue 12): the audit_* views are what the auditor role may read (deploy/clickhouse/auditor.sql
-- grants SELECT on them and on the analytic v_* views only; the embedded store's `auditor` user is refused the
-- restricted tables). None of them exposes personnummer, names, bank hashes, raw payloads or message keys.
-- `protected_person` marks a row about a protected person (skyddad identitet: a SKYDD- pseudonym); the row
-- policies of auditor.sql hide those rows from the auditor role.

-- The rule versions in force, with their parameters as JSON: written by `migrate` from parameters.toml (and an
-- operator's override file), so a finding's rule_version can be compared with what runs now.
CREATE TABLE IF NOT EXISTS rule_versions_in_force
(
    rule_id         String,
    version         Int32,
    parameters_json String
)
ENGINE = ReplacingMergeTree
ORDER BY rule_id;

-- Findings with their evidence and latest review.
CREATE VIEW IF NOT EXISTS audit_findings AS
SELECT f.finding_id AS finding_id, f.rule_id AS rule_id, f.rule_version AS rule_version, f.severity AS severity,
       f.subject_type AS subject_type, f.subject_id AS subject_id, f.company AS company,
       f.occurred_at AS occurred_at, f.detected_at AS detected_at, f.summary AS summary,
       f.evidence_json AS evidence_json, f.source_event_ids AS source_event_ids,
       s.status AS review_status, s.verdict AS verdict, s.cause AS cause, s.note AS review_note,
       s.reviewer AS reviewer, s.reviewed_at AS reviewed_at, s.reviews AS reviews,
       toUInt8(startsWith(f.subject_id, 'SKYDD-')) AS protected_person
FROM findings AS f FINAL
LEFT JOIN v_findings_review_status AS s ON s.finding_id = f.finding_id;

-- Sampled pay documents (stickprov) with how they were drawn and their latest result.
CREATE VIEW IF NOT EXISTS audit_samples AS
SELECT d.run_id AS run_id, d.document AS document, d.customer AS customer, d.pay_date AS pay_date,
       groupArray(s.method) AS methods, any(s.drawn_at) AS drawn_at,
       any(d.result) AS result, any(d.cause) AS cause, any(d.note) AS review_note,
       any(d.reviewer) AS reviewer, any(d.reviewed_at) AS reviewed_at,
       toUInt8(startsWith(d.document, 'SKYDD-')) AS protected_person
FROM v_sample_documents AS d
LEFT JOIN (SELECT run_id, method, drawn_at, documents FROM payroll_samples FINAL) AS s
    ON s.run_id = d.run_id
WHERE has(s.documents, d.document)
GROUP BY run_id, document, customer, pay_date;

-- Open items on the suspense accounts (9894 and the others followed), as the finance views compute them.
CREATE VIEW IF NOT EXISTS audit_open_9894_items AS
SELECT o.company AS company, o.account AS account, a.role AS account_role, o.voucher AS voucher,
       o.voucher_series AS voucher_series, o.voucher_number AS voucher_number, o.amount_ore AS amount_ore,
       o.original_ore AS original_ore, o.opened_on AS opened_on, o.age_working_days AS age_working_days,
       o.event_ids AS event_ids
FROM v_suspense_open_items AS o
LEFT JOIN (SELECT account, role FROM finance_suspense_accounts FINAL) AS a ON a.account = o.account;

-- Dead letters without the raw payload and message key (which may hold anything a source sent, personal data
-- included); the reason is already redacted when stored.
CREATE VIEW IF NOT EXISTS audit_dead_letters AS
SELECT source_topic, source_partition, source_offset, kind, reason, schema_id, stage, failed_at,
       length(payload) AS payload_bytes
FROM dead_letters;

-- Every rule version that produced a finding or an alert, beside the version in force now.
CREATE VIEW IF NOT EXISTS audit_rule_versions AS
WITH produced AS (
    SELECT rule_id, rule_version, 'finding' AS output, count() AS outputs,
           min(detected_at) AS first_at, max(detected_at) AS last_at
    FROM findings FINAL GROUP BY rule_id, rule_version
    UNION ALL
    SELECT rule_id, rule_version, 'alert' AS output, count() AS outputs,
           min(occurred_at) AS first_at, max(occurred_at) AS last_at
    FROM alerts FINAL GROUP BY rule_id, rule_version
)
SELECT p.rule_id AS rule_id, p.rule_version AS rule_version, p.output AS output, p.outputs AS outputs,
       p.first_at AS first_at, p.last_at AS last_at,
       v.version AS version_in_force, toUInt8(v.version = p.rule_version) AS in_force,
       v.parameters_json AS parameters_in_force
FROM produced AS p
LEFT JOIN (SELECT rule_id, version, parameters_json FROM rule_versions_in_force FINAL) AS v
    ON v.rule_id = p.rule_id;
