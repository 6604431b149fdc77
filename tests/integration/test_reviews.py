"""Reviews end to end: `findings review` / `samples review` through Kafka and a running worker into ClickHouse, the
review views, the tertial report's review section against direct SQL, and the embedded store's auditor user."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from servicepulse.schemas.events import Finding, PayrollRun
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

T = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
RUN = "SOC-2026-03-main"
PERSONNUMMER = "19811218-9876"  # Luhn-valid


def _finding(fid: str, rule: str, subject: str) -> Finding:
    return Finding(finding_id=fid, rule_id=rule, rule_version=1, severity="high", subject_type="employee",
                   subject_id=subject, company="SOC", occurred_at=T, detected_at=T, summary="test finding",
                   evidence_json="{}", source_event_ids=[])


def _dicts(pipe: Pipeline, sql: str) -> list[dict[str, Any]]:
    result = pipe.client().query(sql)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def test_reviews_through_the_cli_reach_views_and_report(pipeline: Pipeline) -> None:
    pipe = pipeline
    producer = pipe.producer()
    findings = [_finding("f-neg", "payroll.negative_net", "A1001"),
                _finding("f-dup", "payroll.duplicate_line", "A1002"),
                _finding("f-prot", "payroll.negative_net", "SKYDD-0a1b2c")]
    for f in findings:
        producer.send(f)
    producer.send(PayrollRun(event_id=f"{RUN}:opened", run_id=RUN, kind="main", status="opened", customer="SOC",
                             period="2026-03", pay_date=date(2026, 3, 25), occurred_at=T, source="test"))
    producer.flush()
    pipe.start_worker()
    pipe.wait_for(lambda: pipe.scalar("SELECT count() FROM findings FINAL") == 3, what="3 findings stored")
    pipe.wait_for(lambda: pipe.scalar("SELECT count() FROM payroll_runs FINAL") == 1, what="the run stored")
    # The sample itself is written by the payroll run check (not a topic): stored here as that step would.
    pipe.client().command(f"INSERT INTO payroll_samples (run_id, method, seed, size, population, population_ore, "
                          f"documents, drawn_at) VALUES ('{RUN}', 'simple-random-v1', 7, 2, 10, 1000, "
                          f"['A1001', 'A1003'], now64(3))")

    # Refused, nothing recorded, exit 2 with a clear message.
    refused = {
        "unknown finding": ("findings", "review", "f-nope", "--verdict", "false_positive", "--reviewer", "ann"),
        "unknown cause": ("findings", "review", "f-neg", "--verdict", "confirmed", "--cause", "bad_luck",
                          "--reviewer", "ann"),
        "confirmed without cause": ("findings", "review", "f-neg", "--verdict", "confirmed", "--reviewer", "ann"),
        "error without cause": ("samples", "review", f"{RUN}/A1001", "--result", "error", "--reviewer", "ann"),
        "unknown document": ("samples", "review", f"{RUN}/A9999", "--result", "ok", "--reviewer", "ann"),
    }
    for what, args in refused.items():
        done = pipe.cli(*args, check=False)
        assert done.returncode == 2 and "nothing recorded" in done.stderr, (what, done.returncode, done.stderr)

    pipe.cli("findings", "review", "f-neg", "--verdict", "confirmed", "--cause", "wrong_pay_type", "--note",
             f"lönart 1234 fel, gäller {PERSONNUMMER}", "--reviewer", "ann", "--wait")
    pipe.cli("findings", "review", "f-dup", "--verdict", "needs_info", "--reviewer", "ann", "--wait")
    batch = pipe.workdir / "reviews.csv"
    batch.write_text("finding_id,verdict,cause,note\n"
                     "f-dup,false_positive,,rättad i mars\n"
                     "f-nope,confirmed,other,\n"
                     "f-prot,confirmed,,\n", encoding="utf-8")
    done = pipe.cli("findings", "review", "--csv", str(batch), "--reviewer", "bo", "--wait", check=False)
    assert done.returncode == 2, done.stderr
    assert "reviews.csv:3" in done.stderr and "reviews.csv:4" in done.stderr and "reviews.csv:2" not in done.stderr
    assert "1 review(s) recorded" in done.stderr
    pipe.cli("samples", "review", f"{RUN}/A1001", "--result", "error", "--cause", "system_error", "--reviewer", "ann",
             "--wait")
    pipe.cli("samples", "review", f"{RUN}/A1003", "--result", "ok", "--reviewer", "ann", "--wait")

    # Stored append-only: the needs_info of f-dup stays beside its later verdict; no personnummer in any note.
    assert pipe.scalar("SELECT count() FROM finding_reviews FINAL") == 3
    assert pipe.scalar("SELECT count() FROM sample_reviews FINAL") == 2
    notes = " ".join(str(r[0]) for r in pipe.rows("SELECT note FROM finding_reviews WHERE note IS NOT NULL"))
    assert "1234" in notes and PERSONNUMMER not in notes and "9876" not in notes

    # The views.
    assert {r[0] for r in pipe.rows("SELECT finding_id FROM v_findings_open")} == {"f-prot"}
    listed = pipe.cli("findings", "list", "--status", "open", "--format", "json").stdout
    assert [json.loads(line)["finding_id"] for line in listed.splitlines()] == ["f-prot"]
    by_rule = {r["rule_id"]: r for r in _dicts(pipe, "SELECT * FROM v_review_status_by_rule")}
    assert (by_rule["payroll.negative_net"]["findings"], by_rule["payroll.negative_net"]["confirmed"],
            by_rule["payroll.negative_net"]["open"]) == (2, 1, 1)
    assert (by_rule["payroll.duplicate_line"]["reviewed"], by_rule["payroll.duplicate_line"]["false_positive"],
            by_rule["payroll.duplicate_line"]["needs_info"]) == (1, 1, 0)
    causes = {(r["month"], r["tertial"], r["cause"]): (r["findings"], r["samples"], r["label_sv"])
              for r in _dicts(pipe, "SELECT * FROM v_error_causes_monthly")}
    assert causes == {("2026-03", "2026-T1", "wrong_pay_type"): (1, 0, "Fel lönart"),
                      ("2026-03", "2026-T1", "system_error"): (0, 1, "Systemfel")}
    # The auditors' dashboard reads the same: its status panel's SQL, as committed in dashboards/reviews.json.
    board = json.loads((Path(__file__).parents[2] / "dashboards" / "reviews.json").read_text(encoding="utf-8"))
    panel_sql = next(t["rawSql"] for p in board["panels"] if p.get("title") == "Review status per rule"
                     for t in p.get("targets", []))
    panel = {r[0]: r[1:] for r in pipe.rows(panel_sql)}
    # findings, reviewed, reviewed %, confirmed, false positive, needs info, open
    assert panel["payroll.negative_net"] == (2, 1, 50.0, 1, 0, 0, 1)
    assert panel["payroll.duplicate_line"] == (1, 1, 100.0, 0, 1, 0, 0)
    shown = json.loads(pipe.cli("findings", "show", "f-dup").stdout)
    assert shown["review_status"] == "false_positive" and len(shown["reviews_recorded"]) == 2

    # The report, against SQL of the test's own on the raw tables.
    report = json.loads(pipe.cli("report", "--tertial", "2026-T1", "--format", "json").stdout)
    latest = """(SELECT finding_id, argMax(verdict, (reviewed_at, review_id)) AS v,
                        argMax(cause, (reviewed_at, review_id)) AS c
                 FROM finding_reviews FINAL GROUP BY finding_id)"""
    want_status = {r["rule_id"]: r for r in _dicts(pipe, f"""
        SELECT f.rule_id AS rule_id, count() AS findings, countIf(l.v IN ('confirmed', 'false_positive')) AS reviewed,
               countIf(l.v = 'confirmed') AS confirmed, countIf(l.v = 'false_positive') AS false_positive,
               countIf(l.v = 'needs_info') AS needs_info, countIf(l.v IN ('', 'needs_info')) AS open
        FROM findings AS f FINAL LEFT JOIN {latest} AS l ON l.finding_id = f.finding_id
        WHERE toDate(f.occurred_at) >= '2026-01-01' AND toDate(f.occurred_at) < '2026-05-01' GROUP BY rule_id""")}
    got_status = {r["rule_id"]: r for r in report["review_status"]}
    assert got_status == want_status
    want_causes: dict[str, dict[str, int]] = {}
    for cause, n in pipe.rows(f"SELECT l.c, count() FROM findings AS f FINAL JOIN {latest} AS l "
                              "ON l.finding_id = f.finding_id WHERE l.v = 'confirmed' GROUP BY l.c"):
        want_causes.setdefault(cause, {"findings": 0, "samples": 0})["findings"] += n
    for cause, _result in pipe.rows("SELECT argMax(cause, reviewed_at) AS c, argMax(result, reviewed_at) AS r "
                              "FROM sample_reviews FINAL GROUP BY run_id, document HAVING r = 'error'"):
        want_causes.setdefault(cause, {"findings": 0, "samples": 0})["samples"] += 1
    got_causes = {r["cause"]: {"findings": r["findings"], "samples": r["samples"]} for r in report["error_causes"]}
    assert got_causes == want_causes and all(r["errors"] == r["findings"] + r["samples"]
                                             for r in report["error_causes"])
    html = pipe.workdir / "report.html"
    pipe.cli("report", "--tertial", "2026-T1", "--out", str(html))
    page = html.read_text(encoding="utf-8")
    assert 'data-figure="review.payroll.negative_net.confirmed">1<' in page and "Fel lönart" in page
    # An empty period says so.
    empty = pipe.workdir / "empty.html"
    pipe.cli("report", "--tertial", "2025-T1", "--out", str(empty))
    section = empty.read_text(encoding="utf-8").split('<section id="reviews">')[1].split("</section>")[0]
    assert section.count("ingen data") == 2


def test_auditor_reads_audit_views_and_nothing_restricted(pipeline: Pipeline) -> None:
    pipe = pipeline
    producer = pipe.producer()
    producer.send(_finding("f-a", "payroll.negative_net", "A1001"))
    producer.flush()
    pipe.start_worker()
    pipe.wait_for(lambda: pipe.scalar("SELECT count() FROM findings FINAL") == 1, what="the finding stored")
    if pipe.settings.clickhouse.url is None or "127.0.0.1" not in pipe.settings.clickhouse.url:
        pytest.skip("the embedded store's auditor user is tested on the embedded backend")
    pipe.env["CLICKHOUSE__AUDITOR_PASSWORD"] = "auditor"  # the development store's default (loopback, open default)
    read = pipe.cli("sql", "--user", "auditor", "SELECT finding_id, review_status FROM audit_findings",
                    "--format", "json")
    assert [json.loads(line) for line in read.stdout.splitlines()] == [{"finding_id": "f-a", "review_status": "open"}]
    for view in ("audit_samples", "audit_open_9894_items", "audit_dead_letters", "audit_rule_versions",
                 "v_findings_open", "v_review_status_by_rule", "v_error_causes_monthly"):
        assert pipe.cli("sql", "--user", "auditor", f"SELECT count() FROM {view}", check=False).returncode == 0, view
    refused = {
        "insert": "INSERT INTO findings (finding_id) VALUES ('forged')",
        "insert review": "INSERT INTO finding_reviews (review_id) VALUES ('forged')",
        "restricted": "SELECT count() FROM payroll_people_restricted",
        "pay lines": "SELECT employee_id FROM payroll_lines",
        "raw dead letters": "SELECT payload FROM dead_letters",
        "drop": "DROP TABLE audit_findings",
    }
    for what, sql in refused.items():
        done = pipe.cli("sql", "--user", "auditor", sql, check=False)
        assert done.returncode != 0 and ("ACCESS_DENIED" in done.stderr or "READONLY" in done.stderr), (what,
                                                                                                        done.stderr)
    assert pipe.scalar("SELECT count() FROM findings WHERE finding_id = 'forged'") == 0
    pipe.env["CLICKHOUSE__AUDITOR_PASSWORD"] = "wrong"
    assert pipe.cli("sql", "--user", "auditor", "SELECT 1", check=False).returncode != 0


_PARSE = r"""
import json, sys
import chdb
out = []
for statement in json.load(sys.stdin):
    literal = "'" + statement.replace("\\", "\\\\").replace("'", "\\'") + "'"
    try:
        chdb.query("SELECT formatQuery(" + literal + ")", "JSONCompact")
        out.append("ok")
    except Exception as exc:
        out.append(str(exc)[:300])
json.dump(out, sys.stdout)
"""


def test_auditor_sql_parses_in_clickhouse() -> None:
    """deploy/clickhouse/auditor.sql in ClickHouse's own parser (chdb `formatQuery`, in a child process: the store
    server owns the engine in the test processes); nothing is executed, chdb has no access management."""
    text = (Path(__file__).resolve().parents[2] / "deploy" / "clickhouse" / "auditor.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    statements = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
    done = subprocess.run([sys.executable, "-c", _PARSE], input=json.dumps(statements), capture_output=True,
                          text=True, timeout=120, check=True)
    results = json.loads(done.stdout)
    failed = [(s[:80], r) for s, r in zip(statements, results, strict=True) if r != "ok"]
    assert len(statements) > 40 and not failed, failed
    # The parser does refuse what is not SQL: the check can fail.
    broken = subprocess.run([sys.executable, "-c", _PARSE], input=json.dumps(["GRANT SELEKT ON x TO y"]),
                            capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(broken.stdout) != ["ok"]
