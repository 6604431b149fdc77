-- Auditor access on a ClickHouse server (docs/auditors.md#auditor-access): a role that reads the audit views and the
-- analytic views only, a login user with that role, and row policies that hide protected persons (skyddad
-- identitet) wherever a person appears. Apply after `servicepulse migrate`, as an administrator (a user with
-- access_management), with the SHA-256 of the auditor's password put in place of the placeholder, so that no
-- password is stored here or typed into a shell history:
--
--   HASH=$(printf %s "$AUDITOR_PASSWORD" | sha256sum | cut -d' ' -f1)
--   sed "s/__AUDITOR_PASSWORD_SHA256__/$HASH/" deploy/clickhouse/auditor.sql | clickhouse-client --multiquery
--
-- The views read the raw tables as `servicepulse_audit_definer` (SQL SECURITY DEFINER, ClickHouse 24.4 or later), a
-- user that cannot log in, so the auditor needs no grant on any raw table: payroll_people_restricted (personnummer,
-- names, bank hashes), payroll_lines (anstid of protected persons) and dead_letters (raw payloads) are never granted.
-- The database is `servicepulse` (CLICKHOUSE__DATABASE); change it here too if yours differs.

CREATE ROLE IF NOT EXISTS servicepulse_auditor;

CREATE USER IF NOT EXISTS auditor IDENTIFIED WITH sha256_hash BY '__AUDITOR_PASSWORD_SHA256__'
    DEFAULT ROLE servicepulse_auditor SETTINGS readonly = 2, max_execution_time = 300;

GRANT servicepulse_auditor TO auditor;

-- The definer of the audit views: reads what the views read, cannot log in (HOST NONE).
CREATE USER IF NOT EXISTS servicepulse_audit_definer IDENTIFIED WITH no_password HOST NONE;

GRANT SELECT ON servicepulse.findings TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.alerts TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.finding_reviews TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.sample_reviews TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.payroll_samples TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.payroll_runs TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.invoice_postings TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.dead_letters TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.review_causes TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.rule_versions_in_force TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.finance_suspense_accounts TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.non_working_days TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.v_findings_review_status TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.v_sample_documents TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.v_review_errors TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.v_suspense_lines TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.v_suspense_items TO servicepulse_audit_definer;
GRANT SELECT ON servicepulse.v_suspense_open_items TO servicepulse_audit_definer;

-- The views the auditor reads run as the definer.
ALTER TABLE servicepulse.audit_findings MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.audit_samples MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.audit_open_9894_items MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.audit_dead_letters MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.audit_rule_versions MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.v_findings_review_status MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.v_findings_open MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.v_review_status_by_rule MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.v_sample_documents MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.v_review_errors MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;
ALTER TABLE servicepulse.v_error_causes_monthly MODIFY SQL SECURITY DEFINER DEFINER = servicepulse_audit_definer;

-- What the auditor may read: the audit views, the review views, and the reference tables they join.
GRANT SELECT ON servicepulse.audit_findings TO servicepulse_auditor;
GRANT SELECT ON servicepulse.audit_samples TO servicepulse_auditor;
GRANT SELECT ON servicepulse.audit_open_9894_items TO servicepulse_auditor;
GRANT SELECT ON servicepulse.audit_dead_letters TO servicepulse_auditor;
GRANT SELECT ON servicepulse.audit_rule_versions TO servicepulse_auditor;
GRANT SELECT ON servicepulse.v_findings_review_status TO servicepulse_auditor;
GRANT SELECT ON servicepulse.v_findings_open TO servicepulse_auditor;
GRANT SELECT ON servicepulse.v_review_status_by_rule TO servicepulse_auditor;
GRANT SELECT ON servicepulse.v_sample_documents TO servicepulse_auditor;
GRANT SELECT ON servicepulse.v_review_errors TO servicepulse_auditor;
GRANT SELECT ON servicepulse.v_error_causes_monthly TO servicepulse_auditor;
GRANT SELECT ON servicepulse.review_causes TO servicepulse_auditor;
GRANT SELECT ON servicepulse.rule_versions_in_force TO servicepulse_auditor;
GRANT SELECT ON servicepulse.business_targets TO servicepulse_auditor;
GRANT SELECT ON servicepulse.finance_suspense_accounts TO servicepulse_auditor;

-- Protected persons: hidden from the auditor in every granted object where a person appears (a SKYDD- pseudonym
-- in subject_id or document), and from the definer in the raw tables it reads for the views. A table with a row
-- policy shows a user only what some policy lets that user see, so each object also gets a policy letting every
-- other user see every row.
CREATE ROW POLICY IF NOT EXISTS auditor_no_protected ON servicepulse.audit_findings
    FOR SELECT USING protected_person = 0 TO servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS auditor_no_protected ON servicepulse.audit_samples
    FOR SELECT USING protected_person = 0 TO servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS auditor_no_protected ON servicepulse.v_findings_review_status
    FOR SELECT USING NOT startsWith(subject_id, 'SKYDD-') TO servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS auditor_no_protected ON servicepulse.v_findings_open
    FOR SELECT USING NOT startsWith(subject_id, 'SKYDD-') TO servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS auditor_no_protected ON servicepulse.v_sample_documents
    FOR SELECT USING NOT startsWith(document, 'SKYDD-') TO servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS auditor_no_protected ON servicepulse.v_review_errors
    FOR SELECT USING NOT like(item, '%/SKYDD-%') TO servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS definer_no_protected ON servicepulse.findings
    FOR SELECT USING NOT startsWith(subject_id, 'SKYDD-') TO servicepulse_audit_definer;
CREATE ROW POLICY IF NOT EXISTS definer_no_protected ON servicepulse.sample_reviews
    FOR SELECT USING NOT startsWith(document, 'SKYDD-') TO servicepulse_audit_definer;

CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.audit_findings
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.audit_samples
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.v_findings_review_status
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.v_findings_open
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.v_sample_documents
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.v_review_errors
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_auditor;
CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.findings
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_audit_definer;
CREATE ROW POLICY IF NOT EXISTS everyone_else ON servicepulse.sample_reviews
    FOR SELECT USING 1 TO ALL EXCEPT servicepulse_audit_definer;
