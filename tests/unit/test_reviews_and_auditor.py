"""Reviews and auditor access, the pure parts: building and refusing reviews, the review CSV, the cause list, the
report's review section, the ClickHouse server's auditor.sql against the migrations, the embedded auditor user."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from servicepulse.cli.findings import ReviewRefused, finding_review, read_review_csv, sample_review, split_document_id
from servicepulse.cli.query import as_user
from servicepulse.config import ClickHouseSettings
from servicepulse.connectors.clickhouse import load_migrations
from servicepulse.devstack.store_server import (
    AUDITOR_DENIED_TABLES,
    DEV_AUDITOR_PASSWORD,
    RESTRICTED_TABLES,
    _check_user_query,
    _ClickHouseError,
    users_from_settings,
)
from servicepulse.domain.parameters import default_parameters
from servicepulse.report import Margins, Period, build_report
from servicepulse.report.queries import QUERIES
from servicepulse.report.render import render_html
from servicepulse.schemas.events import ReviewVerdict, SampleResult
from servicepulse.streams.sink import TABLES

ROOT = Path(__file__).resolve().parents[2]
AUDITOR_SQL = (ROOT / "deploy" / "clickhouse" / "auditor.sql").read_text(encoding="utf-8")
CAUSES = default_parameters().review_causes
WHEN = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
# A Luhn-valid personnummer (the checksum digit makes it one).
PERSONNUMMER = "19811218-9876"


# ------------------------------------------------------------------------------------------------ reviews


def test_cause_list_is_versioned_with_both_languages() -> None:
    p = default_parameters()
    assert p.review_causes_version >= 1
    assert {"late_document_from_customer", "registration_error", "wrong_pay_type", "system_error", "other"} <= set(
        p.review_causes)
    assert all(sv and en and sv != en for sv, en in p.review_causes.values())


def test_a_review_is_refused_without_a_known_cause_when_confirmed() -> None:
    with pytest.raises(ReviewRefused, match="needs --cause"):
        finding_review("f1", "r", "confirmed", None, None, "ann", CAUSES, 1, WHEN)
    with pytest.raises(ReviewRefused, match="unknown cause code 'typo'"):
        finding_review("f1", "r", "false_positive", "typo", None, "ann", CAUSES, 1, WHEN)
    with pytest.raises(ReviewRefused, match="unknown verdict"):
        finding_review("f1", "r", "maybe", "other", None, "ann", CAUSES, 1, WHEN)
    with pytest.raises(ReviewRefused, match="needs --cause"):
        sample_review("run", "A1", "error", "", None, "ann", CAUSES, 1, WHEN)
    # needs_info and false_positive may go without a cause, ok too.
    assert finding_review("f1", "r", "needs_info", None, None, "ann", CAUSES, 1, WHEN).cause is None
    assert sample_review("run", "A1", "ok", None, None, "ann", CAUSES, 1, WHEN).result is SampleResult.ok


def test_a_review_note_never_carries_a_personnummer_and_ids_are_stable() -> None:
    review = finding_review("f1", "r", "confirmed", "wrong_pay_type", f"lönart 1234 fel för {PERSONNUMMER}", "ann",
                            CAUSES, 3, WHEN)
    assert review.verdict is ReviewVerdict.confirmed and review.cause_list_version == 3
    assert review.note is not None and "9876" not in review.note and "1234" in review.note
    assert review.note.startswith("lönart 1234 fel för")  # the auditor's own words stay readable
    again = finding_review("f1", "r", "confirmed", "wrong_pay_type", f"lönart 1234 fel för {PERSONNUMMER}", "ann",
                           CAUSES, 3, WHEN)
    assert again.review_id == review.review_id  # the same review sent twice collapses in the table
    later = finding_review("f1", "r", "confirmed", "wrong_pay_type", None, "ann", CAUSES, 3, WHEN.replace(hour=13))
    assert later.review_id != review.review_id


def test_reviewer_defaults_to_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "granskare1")
    assert finding_review("f1", "r", "needs_info", None, None, None, CAUSES, 1, WHEN).reviewer == "granskare1"


def test_review_csv_keeps_line_numbers() -> None:
    text = ("finding_id;verdict;cause;note\n"
            "f1;confirmed;wrong_pay_type;fel lönart\n"
            "\n"
            "f2;false_positive;;\n"
            "f3;needs_info;;x;extra\n")
    rows, errors = read_review_csv(text)
    assert [(r.line, r.values["finding_id"]) for r in rows] == [(2, "f1"), (4, "f2")]
    assert errors and errors[0][0] == 5
    assert read_review_csv("id,verdict\nf1,confirmed\n")[1][0][0] == 1  # a header without finding_id


def test_sampled_document_ids() -> None:
    assert split_document_id("SOC-2026-03-main/A1001") == ("SOC-2026-03-main", "A1001")
    assert split_document_id("a/b/SKYDD-1f") == ("a/b", "SKYDD-1f")
    for bad in ("A1001", "run/", "/A1"):
        with pytest.raises(ReviewRefused):
            split_document_id(bad)


# ------------------------------------------------------------------------------------------------ report


def test_report_review_section_and_no_data() -> None:
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in QUERIES} | {
        "business_targets": [{"name": n, "value": v} for n, v in (
            ("payslips_per_fte", 940.0), ("supplier_invoices_per_fte", 3100.0),
            ("customer_invoices_per_fte", 5100.0), ("suspense_yearly_change", -0.03))],
        "review_status": [{"rule_id": "payroll.negative_net", "findings": 5, "reviewed": 3, "confirmed": 2,
                           "false_positive": 1, "needs_info": 1, "open": 2}],
        "error_causes": [{"cause": "wrong_pay_type", "label_sv": "Fel lönart", "label_en": "Wrong pay type",
                          "findings": 2, "samples": 1, "errors": 3}],
    }
    period = Period.tertial("2026-T1")
    report = build_report(rows, period, Margins(), WHEN.date())
    (status,) = report.review_status
    assert (status.findings, status.reviewed, status.open, status.needs_info) == (5, 3, 2, 1)
    sv = render_html(report, "sv", default_parameters(), Margins())
    en = render_html(report, "en", default_parameters(), Margins())
    assert 'data-figure="review.payroll.negative_net.confirmed">2<' in sv
    assert 'data-figure="error_cause.wrong_pay_type.errors">3<' in sv
    assert "Fel lönart" in sv and "Wrong pay type" in en and "Felorsaker" in sv
    empty = build_report(rows | {"review_status": [], "error_causes": []}, period, Margins(), WHEN.date())
    page = render_html(empty, "sv", default_parameters(), Margins())
    section = page[page.index('<section id="reviews">'):page.index('<section id="data-quality">')]
    assert section.count("ingen data") == 2
    page_en = render_html(empty, "en", default_parameters(), Margins())
    section_en = page_en[page_en.index('<section id="reviews">'):page_en.index('<section id="data-quality">')]
    assert section_en.count("no data") == 2


# ------------------------------------------------------------------------------------------------ auditor.sql


def _objects() -> dict[str, str]:
    """Every table and view the migrations create -> its statement."""
    out = {}
    for migration in load_migrations():
        for statement in migration.statements:
            found = re.match(r"CREATE (?:MATERIALIZED )?(?:TABLE|VIEW) IF NOT EXISTS (\w+)", statement)
            if found:
                out[found.group(1)] = statement
    return out


def _statements() -> list[str]:
    lines = [line for line in AUDITOR_SQL.splitlines() if not line.lstrip().startswith("--")]
    return [" ".join(s.split()) for s in "\n".join(lines).split(";") if s.strip()]


def _grants(grantee: str) -> set[str]:
    return {m.group(1) for s in _statements()
            if (m := re.fullmatch(rf"GRANT SELECT ON servicepulse\.(\w+) TO {grantee}", s))}


RAW_TABLES = {spec.table for spec in TABLES.values()} | {"payroll_people_restricted", "payroll_samples",
                                                         "findings_rerun", "payroll_run_checks"}
PERSONAL_COLUMNS = ("personnummer", "first_name", "last_name", "birth_date", "bank_hash", "payload", "source_key",
                    "employee_id")


def test_auditor_grants_only_existing_views_and_reference_tables() -> None:
    objects = _objects()
    granted = _grants("servicepulse_auditor")
    assert granted and not granted - set(objects), f"granted but not in the migrations: {granted - set(objects)}"
    assert not granted & (RESTRICTED_TABLES | AUDITOR_DENIED_TABLES | RAW_TABLES), granted & RAW_TABLES
    # Every audit view is granted, and every object granted to the auditor runs as the definer or is a reference
    # table (no Kafka position columns: not a raw table).
    audit_views = {name for name in objects if name.startswith("audit_")}
    assert audit_views == {"audit_findings", "audit_samples", "audit_open_9894_items", "audit_dead_letters",
                           "audit_rule_versions"}
    assert audit_views <= granted
    definer = {m.group(1) for s in _statements()
               if (m := re.fullmatch(r"ALTER TABLE servicepulse\.(\w+) MODIFY SQL SECURITY DEFINER "
                                     r"DEFINER = servicepulse_audit_definer", s))}
    for name in granted:
        statement = objects[name]
        if statement.startswith("CREATE VIEW"):
            assert name in definer, f"{name} is granted but does not run as the definer"
        else:
            assert "_topic" not in statement, f"{name} is a raw table"
    # The definer reads what the views read, never the restricted tables.
    definer_grants = _grants("servicepulse_audit_definer")
    assert definer_grants <= set(objects) and not definer_grants & {"payroll_people_restricted", "payroll_lines"}


def test_granted_views_expose_no_personal_column_and_hide_protected_persons() -> None:
    objects = _objects()
    granted = _grants("servicepulse_auditor")
    policies = {(m.group(2), m.group(3)) for s in _statements()
                if (m := re.fullmatch(r"CREATE ROW POLICY IF NOT EXISTS (\w+) ON servicepulse\.(\w+) FOR SELECT "
                                      r"USING (.+) TO servicepulse_auditor", s))}
    protected_on = {name for name, _ in policies}
    for name in granted:
        text = re.sub(r"length\(payload\)", "", objects[name])
        named = [c for c in PERSONAL_COLUMNS if re.search(rf"\b{c}\b", text)]
        assert not named, f"{name} names {named}"
        person = re.search(r"\b(subject_id|document)\b", text)
        if person and name not in ("v_review_status_by_rule", "v_error_causes_monthly"):
            assert name in protected_on, f"{name} shows a person but has no row policy for the auditor"
    # The two aggregates read persons only to count them.
    for name in ("v_review_status_by_rule", "v_error_causes_monthly"):
        assert re.search(r"\bGROUP BY (rule_id|month, tertial, cause)$", objects[name].strip()), name
    # Each object with a policy for the auditor also lets everyone else see every row.
    everyone = {m.group(1) for s in _statements()
                if (m := re.fullmatch(r"CREATE ROW POLICY IF NOT EXISTS \w+ ON servicepulse\.(\w+) FOR SELECT "
                                      r"USING 1 TO ALL EXCEPT servicepulse_auditor", s))}
    assert protected_on <= everyone


def test_auditor_sql_holds_no_password() -> None:
    assert "IDENTIFIED WITH sha256_hash BY '__AUDITOR_PASSWORD_SHA256__'" in AUDITOR_SQL
    assert not re.search(r"IDENTIFIED (?:WITH \w+ )?BY '(?!__AUDITOR_PASSWORD_SHA256__)", AUDITOR_SQL)


# ------------------------------------------------------------------------------------------------ embedded store


def test_embedded_auditor_user() -> None:
    dev = {u.name: u for u in users_from_settings(ClickHouseSettings())}
    assert dev["auditor"].password == DEV_AUDITOR_PASSWORD and dev["auditor"].readonly
    assert dev["default"].password == "" and not dev["default"].readonly  # the open dev store, as before
    assert dev["auditor"].denied_names >= AUDITOR_DENIED_TABLES
    # Exposed to the network, or with a password on `default`: no default auditor password.
    assert users_from_settings(ClickHouseSettings(embedded_host="0.0.0.0")) == []
    secured = {u.name for u in users_from_settings(ClickHouseSettings(password=SecretStr("w")))}
    assert "auditor" not in secured
    named = {u.name: u for u in users_from_settings(ClickHouseSettings(
        embedded_host="0.0.0.0", auditor_password=SecretStr("s3cret")))}
    assert named["auditor"].password == "s3cret"


def test_auditor_refused_restricted_tables_by_name() -> None:
    auditor = {u.name: u for u in users_from_settings(ClickHouseSettings())}["auditor"]
    for sql in ("SELECT * FROM dead_letters", "SELECT * FROM servicepulse.`dead_letters`",
                "SELECT count() FROM payroll_lines", "SELECT * FROM payroll_people_restricted",
                "SELECT * FROM PAYROLL_LINES"):
        with pytest.raises(_ClickHouseError):
            _check_user_query(auditor, sql.encode())
    for sql in ("SELECT * FROM audit_dead_letters", "SELECT * FROM v_findings_open",
                "SELECT payload_bytes FROM audit_dead_letters -- dead_letters only in a comment"):
        _check_user_query(auditor, sql.encode())


def test_sql_as_auditor_uses_the_auditor_password() -> None:
    dev = as_user(ClickHouseSettings(), "auditor")
    assert dev.url == "http://auditor@127.0.0.1:18123" and dev.password is not None
    assert dev.password.get_secret_value() == DEV_AUDITOR_PASSWORD
    server = ClickHouseSettings(url="https://ch.example:8443", auditor_password=SecretStr("pw"))
    moved = as_user(server, "auditor")
    assert moved.url == "https://auditor@ch.example:8443" and moved.password is not None
    assert moved.password.get_secret_value() == "pw"
    with pytest.raises(ValueError, match="CLICKHOUSE__AUDITOR_PASSWORD"):
        as_user(ClickHouseSettings(url="https://ch.example:8443"), "auditor")
