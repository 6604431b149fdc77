"""The tertial report on a real pipeline: a simulated stretch of 2026-T1 with planted breaches goes through the
broker, the workers and ClickHouse; the report's breached targets are red, met ones green, a target without data
reads "ingen data", and every figure of its JSON equals SQL run here directly on the views and tables."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from servicepulse.domain.parameters import default_parameters
from servicepulse.report import Direction, traffic_light
from servicepulse.report.formatting import format_change, format_money, format_number, format_percent
from servicepulse.schemas.events import CallEvent, CaseEvent, Complaint, InvoicePosting, PayLine, PayrollRun
from servicepulse.simulator import STOCKHOLM, SimConfig, Simulator
from tests.factories.payroll_checks import wait_for_run_findings
from tests.factories.pipeline import Backend, Pipeline, open_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

START, DAYS, SCALE = "2026-03-16", 12, 0.05
TERTIAL, T_START, T_END = "2026-T1", date(2026, 1, 1), date(2026, 5, 1)
MONTHS = ("2026-01", "2026-02", "2026-03", "2026-04")
# No yellow band here: a planted breach is one e-mail or one complaint, a few percentage points at most.
NO_MARGIN = {"REPORT__RATIO_MARGIN": "0", "REPORT__PER_FTE_MARGIN": "0", "REPORT__CHANGE_MARGIN": "0"}
STAFFING = "month,unit,role,fte\n2026-03,Ekonomi,supplier_invoices,0.5\n2026-03,Ekonomi,customer_invoices,0.25\n"
PERIOD = f"toDate({{c}}) >= '{T_START}' AND toDate({{c}}) < '{T_END}'"


@dataclass
class Simulated:
    pipeline: Pipeline
    report: dict[str, Any]
    html: Path
    html_en: Path


@pytest.fixture(scope="module")
def simulated(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulated]:
    """One pipeline for the module (the `pipeline` fixture's steps, module-scoped so the browser test reuses the
    simulated tertial): 12 days of March at 5 % volume, targets met except the planted breaches."""
    workdir = tmp_path_factory.mktemp("report")
    # The finance review every 2 s (default 60): its findings are all in before the 5 s quiet the fixture waits
    # for, not in the middle of the tests (a race the CLI reviews below made visible).
    pipe = open_pipeline(backend, workdir, **NO_MARGIN, READBACK__FINANCE_INTERVAL_S="2")
    try:
        pipe.cli("simulate", "--days", str(DAYS), "--start", START, "--scale", str(SCALE), "--targets-met",
                 "--plant-breaches")
        start = datetime.combine(date.fromisoformat(START), datetime.min.time(), STOCKHOLM)
        end = start + timedelta(days=DAYS)
        events = Simulator(SimConfig(seed=1, scale=SCALE, targets_met=True, plant_breaches=True),
                           start, end).advance(end)
        expected = {table: sum(isinstance(e, kind) for e in events) for table, kind in (
            ("call_events", CallEvent), ("complaints", Complaint), ("cases", CaseEvent),
            ("invoice_postings", InvoicePosting), ("payroll_runs", PayrollRun), ("payroll_lines", PayLine))}
        pipe.start_worker()
        for table, count in expected.items():
            pipe.wait_for(_stored(pipe, table, count), timeout=150, what=f"{count} rows in {table}")
        # Findings come after the rows: every closed run checked, then no new finding for a few seconds.
        closed = "SELECT uniqExact(run_id) FROM payroll_runs FINAL WHERE status = 'closed'"
        pipe.wait_for(lambda: pipe.scalar("SELECT uniqExact(run_id) FROM payroll_run_checks") >= pipe.scalar(closed),
                      timeout=150, what="every closed payroll run checked")
        # A check row is written before its findings go through Kafka: those are waited for by their count, the
        # readback steps' findings (no announced count) by a quiet spell.
        wait_for_run_findings(pipe, timeout=150)
        pipe.wait_for(_settled(pipe, "SELECT count() FROM findings FINAL"), timeout=150, what="findings settled")
        # An auditor's verdicts, through the CLI and the worker: one finding confirmed, one a false positive.
        first, second = (r[0] for r in pipe.rows(
            f"SELECT finding_id FROM findings FINAL WHERE {PERIOD.format(c='occurred_at')} "
            "ORDER BY finding_id LIMIT 2"))
        pipe.cli("findings", "review", first, "--verdict", "confirmed", "--cause", "registration_error",
                 "--reviewer", "test", "--wait")
        pipe.cli("findings", "review", second, "--verdict", "false_positive", "--reviewer", "test", "--wait")
        staffing = workdir / "staffing.csv"
        staffing.write_text(STAFFING, encoding="utf-8")
        pipe.cli("staffing", str(staffing))
        out = workdir / "report.json"
        pipe.cli("report", "--tertial", TERTIAL, "--format", "json", "--out", str(out))
        html, html_en = workdir / "report.html", workdir / "report-en.html"
        pipe.cli("report", "--tertial", TERTIAL, "--out", str(html))
        pipe.cli("report", "--tertial", TERTIAL, "--lang", "en", "--out", str(html_en))
        yield Simulated(pipe, json.loads(out.read_text(encoding="utf-8")), html, html_en)
    finally:
        pipe.stop_workers()


def _stored(pipe: Pipeline, table: str, count: int) -> Callable[[], bool]:
    return lambda: bool(pipe.scalar(f"SELECT count() FROM {table} FINAL") >= count)


def _settled(pipe: Pipeline, sql: str, quiet_s: float = 5.0) -> Callable[[], bool]:
    """True once the count of `sql` has not changed for `quiet_s` seconds."""
    seen: dict[str, Any] = {"count": None, "since": 0.0}

    def check() -> bool:
        count, now = pipe.scalar(sql), time.monotonic()
        if count != seen["count"]:
            seen["count"], seen["since"] = count, now
        return bool(now - seen["since"] >= quiet_s)

    return check


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _dicts(pipe: Pipeline, sql: str) -> list[dict[str, Any]]:
    result = pipe.client().query(sql)
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def expected_figures(pipe: Pipeline) -> dict[str, Any]:
    """Every figure of the report, computed here from the views and tables with SQL of the test's own, keyed like
    the HTML's `data-figure` attributes (measure values as `<key>:value`, table cells as `<section>.<row>.<col>`)."""
    p = default_parameters()
    fig: dict[str, Any] = {}
    targets = {r["queue"]: r for r in _dicts(pipe, "SELECT * FROM sla_queue_targets FINAL WHERE queue != '*'")}
    contact = {r["queue"]: r for r in _dicts(pipe, f"""
        SELECT queue, countIf(event_type = 'answered') AS answered,
               countIf(event_type = 'answered' AND wait_ms <= t_threshold_s * 1000) AS within,
               countIf(event_type = 'abandoned') AS abandoned,
               countIf(event_type = 'abandoned' AND wait_ms <= t_short_abandon_s * 1000) AS short,
               sumIf(wait_ms, event_type = 'answered') / 1000 AS wait_s,
               countIf(event_type = 'ended' AND resolved_first_contact IS NOT NULL) AS ended,
               countIf(event_type = 'ended' AND resolved_first_contact) AS resolved
        FROM v_contact_outcomes WHERE {PERIOD.format(c='toStartOfFifteenMinutes(offered_at)')} GROUP BY queue""")}
    for queue in set(targets) | set(contact):
        c = contact.get(queue)
        offered = c["answered"] + c["abandoned"] - c["short"] if c else 0
        fig[f"queue.{queue}.offered"] = offered
        fig[f"queue.{queue}.answered"] = c["answered"] if c else 0
        fig[f"queue.{queue}.service_level"] = _ratio(c["within"], offered) if c else None
        fig[f"queue.{queue}.asa_s"] = _ratio(c["wait_s"], c["answered"]) if c else None
        fig[f"queue.{queue}.abandonment"] = _ratio(c["abandoned"] - c["short"], offered) if c else None
        fig[f"queue.{queue}.fcr"] = _ratio(c["resolved"], c["ended"]) if c else None
        fig[f"contact.service_level:{queue}:basis"] = offered
        fig[f"contact.fcr:{queue}:basis"] = c["ended"] if c else 0
        fig[f"contact.service_level:{queue}:value"] = fig[f"queue.{queue}.service_level"]
        fig[f"contact.service_level:{queue}:target"] = targets[queue]["service_level_target"]
        fig[f"contact.fcr:{queue}:value"] = fig[f"queue.{queue}.fcr"]
        fig[f"contact.fcr:{queue}:target"] = targets[queue]["fcr_target"]
    days = float(p.value("contact.email_deadline", "working_days"))
    email = {r["queue"]: r for r in _dicts(pipe, f"""
        SELECT queue, count() AS received, countIf(answered_at IS NOT NULL) AS answered,
               countIf(answered_at IS NOT NULL AND office_hours <= {days} * office_day_hours) AS in_time,
               countIf(answered_at IS NULL AND office_hours > {days} * office_day_hours) AS overdue,
               sumIf(office_hours, answered_at IS NOT NULL) AS hours
        FROM v_report_email_lead_times WHERE {PERIOD.format(c='received_at')} GROUP BY queue""")}
    for queue in set(targets) | set(email):
        e = email.get(queue, {"received": 0, "answered": 0, "in_time": 0, "overdue": 0, "hours": 0.0})
        fig[f"email.{queue}.received"] = e["received"]
        fig[f"email.{queue}.answered"] = e["answered"]
        fig[f"email.{queue}.answered_in_time"] = e["in_time"]
        fig[f"email.{queue}.open_overdue"] = e["overdue"]
        fig[f"email.{queue}.share_in_time"] = _ratio(e["in_time"], e["answered"] + e["overdue"])
        fig[f"email.{queue}.mean_office_hours"] = _ratio(e["hours"], e["answered"])
        fig[f"email.within_deadline:{queue}:value"] = fig[f"email.{queue}.share_in_time"]
        fig[f"email.within_deadline:{queue}:target"] = 1.0
        fig[f"email.within_deadline:{queue}:basis"] = e["answered"] + e["overdue"]
    cases = {r["case_type"]: r for r in _dicts(pipe, f"""
        SELECT case_type, count() AS opened, countIf(closed_at IS NOT NULL) AS closed,
               countIf(closed_in_time) AS in_time, countIf(closed_at IS NULL AND due_at < now64(3)) AS overdue
        FROM v_report_case_deadlines WHERE {PERIOD.format(c='opened_at')} GROUP BY case_type""")}
    limits = dict(pipe.rows("SELECT case_type, argMax(limit_days, updated_at) FROM case_lead_time_limits "
                            "GROUP BY case_type"))
    for case_type in set(limits) | set(cases):
        n = cases.get(case_type, {"opened": 0, "closed": 0, "in_time": 0, "overdue": 0})
        for col, src in (("opened", "opened"), ("closed", "closed"), ("closed_in_time", "in_time"),
                         ("open_overdue", "overdue")):
            fig[f"case.{case_type}.{col}"] = n[src]
        fig[f"case.{case_type}.limit_days"] = limits.get(case_type, 0)
        fig[f"case.{case_type}.share_in_time"] = _ratio(n["in_time"], n["closed"] + n["overdue"])
        fig[f"cases.lead_time:{case_type}:value"] = fig[f"case.{case_type}.share_in_time"]
        fig[f"cases.lead_time:{case_type}:target"] = 1.0
        fig[f"cases.lead_time:{case_type}:basis"] = n["closed"] + n["overdue"]
    complaints = _dicts(pipe, f"""
        SELECT s.customer AS customer, s.process AS process, count() AS registered,
               countIf(s.acknowledged_at IS NOT NULL) AS acknowledged,
               countIf(s.acknowledged_at IS NOT NULL AND a.ack_office_hours <= {p.ack_office_hours}) AS in_time,
               countIf(s.closed_at IS NOT NULL) AS closed
        FROM v_complaint_stories AS s LEFT JOIN v_complaint_ack AS a ON a.complaint_id = s.complaint_id
        WHERE {PERIOD.format(c='s.registered_at')} GROUP BY customer, process""")
    for c in complaints:
        k = f"complaint.{c['customer']}.{c['process']}"
        fig[f"{k}.registered"], fig[f"{k}.acknowledged"] = c["registered"], c["acknowledged"]
        fig[f"{k}.acknowledged_in_time"], fig[f"{k}.closed"] = c["in_time"], c["closed"]
    fig["complaints.acknowledged_in_time:value"] = _ratio(sum(c["in_time"] for c in complaints),
                                                          sum(c["registered"] for c in complaints))
    fig["complaints.acknowledged_in_time:target"] = 1.0
    fig["complaints.acknowledged_in_time:basis"] = sum(c["registered"] for c in complaints)
    for month in MONTHS:
        end = (date.fromisoformat(f"{month}-01") + timedelta(days=32)).replace(day=1)
        fig[f"backlog.{month}"] = pipe.scalar(
            f"SELECT count() FROM v_complaint_stories WHERE registered_at < toDateTime('{end}', 'Europe/Stockholm') "
            f"AND (closed_at IS NULL OR closed_at >= toDateTime('{end}', 'Europe/Stockholm'))")
    for r in _dicts(pipe, f"""
            SELECT customer, count() AS open FROM v_complaint_stories
            WHERE registered_at < toDateTime('{T_END}', 'Europe/Stockholm')
              AND (closed_at IS NULL OR closed_at >= toDateTime('{T_END}', 'Europe/Stockholm')) GROUP BY customer"""):
        fig[f"backlog_customer.{r['customer']}"] = r["open"]
    bt = {r["name"]: r["value"] for r in _dicts(pipe, "SELECT name, value FROM business_targets FINAL")}
    payslips = _dicts(pipe, "SELECT month, payslips AS volume, fte, payslips_per_fte AS per_fte, target "
                            f"FROM v_productivity_payslips WHERE month IN {MONTHS}")
    invoices = _dicts(pipe, "SELECT month, kind, invoices AS volume, fte, invoices_per_fte AS per_fte, target "
                            f"FROM v_productivity_invoices WHERE month IN {MONTHS}")
    for kind, name, rows in (("payslips", "payslips_per_fte", payslips),
                             ("supplier_invoice", "supplier_invoices_per_fte", invoices),
                             ("customer_invoice", "customer_invoices_per_fte", invoices)):
        mine = [r for r in rows if r.get("kind", "payslips") == kind]
        for r in mine:
            for col in ("volume", "fte", "per_fte", "target"):
                value = r[col]
                # No staffing loaded for the month: the view's 0 FTE is shown as "no data".
                fig[f"productivity.{r['month']}.{kind}.{col}"] = None if value is None or (
                    col == "fte" and not value) else float(value)
        staffed = [r for r in mine if r["fte"]]
        fig[f"productivity.{name}:value"] = _ratio(sum(r["volume"] for r in staffed),
                                                   float(sum(r["fte"] for r in staffed)))
        fig[f"productivity.{name}:target"] = bt[name]
        fig[f"productivity.{name}:basis"] = sum(r["volume"] for r in staffed)
    unidentified = "(SELECT account FROM finance_suspense_accounts FINAL WHERE role = 'unidentified')"
    counts = _dicts(pipe, f"""
        SELECT company, countIf(opened_on >= '{T_START}' AND opened_on < '{T_END}') AS postings,
               countIf(opened_on >= '2025-01-01' AND opened_on < '2025-05-01') AS previous
        FROM v_suspense_items WHERE account IN {unidentified} GROUP BY company""")
    open_items = {r["company"]: r for r in _dicts(pipe, f"""
        SELECT company, count() AS n, sum(amount_ore) AS ore, max(age_working_days) AS oldest,
               avg(age_working_days) AS mean, countIf(age_working_days > 10) AS aged
        FROM v_suspense_open_items WHERE account IN {unidentified} GROUP BY company""")}
    active = {c["company"]: c for c in counts if c["postings"] or c["previous"]}
    for company in set(active) | set(open_items):
        k, c = f"suspense.{company}", active.get(company, {"postings": 0, "previous": 0})
        o = open_items.get(company, {"n": 0, "ore": 0, "oldest": None, "mean": None, "aged": 0})
        fig[f"{k}.postings"], fig[f"{k}.previous_year"] = c["postings"], c["previous"]
        fig[f"{k}.change"] = _ratio(c["postings"] - c["previous"], c["previous"])
        fig[f"{k}.open_items"], fig[f"{k}.open_ore"], fig[f"{k}.max_age_days"] = o["n"], o["ore"], o["oldest"]
        fig[f"{k}.mean_age_days"], fig[f"{k}.aged"] = o["mean"], o["aged"]
    total, previous = sum(c["postings"] for c in counts), sum(c["previous"] for c in counts)
    fig["finance.suspense_change:value"] = _ratio(total - previous, previous)
    fig["finance.suspense_change:target"] = bt["suspense_yearly_change"]
    fig["finance.suspense_change:basis"] = total
    for r in _dicts(pipe, f"SELECT rule_id, severity, count() AS n FROM findings FINAL "
                          f"WHERE {PERIOD.format(c='occurred_at')} GROUP BY rule_id, severity"):
        fig[f"finding.{r['rule_id']}.{r['severity']}"] = r["n"]
    for r in _dicts(pipe, f"""
            SELECT method, count() AS samples, uniqExact(run_id) AS runs, sum(length(documents)) AS documents
            FROM payroll_samples FINAL WHERE run_id IN (SELECT run_id FROM payroll_runs FINAL
                WHERE kind = 'main' AND pay_date >= '{T_START}' AND pay_date < '{T_END}') GROUP BY method"""):
        for col in ("samples", "runs", "documents"):
            fig[f"sample.{r['method']}.{col}"] = r[col]
    for r in _dicts(pipe, f"SELECT source_topic, kind, count() AS n FROM dead_letters "
                          f"WHERE {PERIOD.format(c='failed_at')} GROUP BY source_topic, kind"):
        fig[f"dead_letter.{r['source_topic']}.{r['kind']}"] = r["n"]
    latest = """(SELECT finding_id, argMax(verdict, (reviewed_at, review_id)) AS v,
                        argMax(cause, (reviewed_at, review_id)) AS c FROM finding_reviews FINAL GROUP BY finding_id)"""
    for r in _dicts(pipe, f"""
            SELECT f.rule_id AS rule_id, count() AS findings,
                   countIf(l.v IN ('confirmed', 'false_positive')) AS reviewed, countIf(l.v = 'confirmed') AS confirmed,
                   countIf(l.v = 'false_positive') AS false_positive, countIf(l.v = 'needs_info') AS needs_info,
                   countIf(l.v IN ('', 'needs_info')) AS open
            FROM findings AS f FINAL LEFT JOIN {latest} AS l ON l.finding_id = f.finding_id
            WHERE {PERIOD.format(c='f.occurred_at')} GROUP BY rule_id"""):
        for col in ("findings", "reviewed", "confirmed", "false_positive", "needs_info", "open"):
            fig[f"review.{r['rule_id']}.{col}"] = r[col]
    for r in _dicts(pipe, f"""
            SELECT l.c AS cause, count() AS n FROM findings AS f FINAL JOIN {latest} AS l ON l.finding_id = f.finding_id
            WHERE l.v = 'confirmed' AND {PERIOD.format(c='f.occurred_at')} GROUP BY cause"""):
        fig[f"error_cause.{r['cause']}.findings"] = r["n"]
    for r in _dicts(pipe, f"""
            SELECT c AS cause, count() AS n FROM (
                SELECT run_id, argMax(cause, reviewed_at) AS c, argMax(result, reviewed_at) AS res
                FROM sample_reviews FINAL GROUP BY run_id, document) AS s
            JOIN (SELECT run_id, any(pay_date) AS pay_date FROM payroll_runs FINAL GROUP BY run_id) AS r
                ON r.run_id = s.run_id
            WHERE res = 'error' AND {PERIOD.format(c='r.pay_date')} GROUP BY cause"""):
        fig[f"error_cause.{r['cause']}.samples"] = r["n"]
    for k in [k for k in fig if k.startswith("error_cause.") and k.endswith((".findings", ".samples"))]:
        cause = k.split(".")[1]
        fig.setdefault(f"error_cause.{cause}.findings", 0)
        fig.setdefault(f"error_cause.{cause}.samples", 0)
        fig[f"error_cause.{cause}.errors"] = fig[f"error_cause.{cause}.findings"] + fig[f"error_cause.{cause}.samples"]
    return fig


def report_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The report's JSON under the same keys."""
    fig: dict[str, Any] = {}
    for m in report["measures"]:
        fig[f"{m['key']}:value"], fig[f"{m['key']}:target"] = m["value"], m["target"]
        fig[f"{m['key']}:basis"] = m["basis"]
    sections = (("queues", "queue", ("queue",)), ("emails", "email", ("queue",)), ("cases", "case", ("case_type",)),
                ("complaints", "complaint", ("customer", "process")), ("backlog", "backlog_customer", ("customer",)),
                ("productivity", "productivity", ("month", "kind")), ("suspense", "suspense", ("company",)),
                ("findings", "finding", ("rule_id", "severity")), ("samples", "sample", ("method",)),
                ("dead_letters", "dead_letter", ("source", "kind")), ("review_status", "review", ("rule_id",)),
                ("error_causes", "error_cause", ("cause",)))
    for section, prefix, ids in sections:
        for row in report[section]:
            key = ".".join([prefix, *(str(row[i]) for i in ids)])
            values = {c: v for c, v in row.items()
                      if c not in ids and c not in ("org", "threshold_s", "label_sv", "label_en")}
            if len(values) == 1 and prefix in ("backlog_customer", "finding", "dead_letter"):
                fig[key] = next(iter(values.values()))
            else:
                fig |= {f"{key}.{c}": v for c, v in values.items()}
    for point in report["backlog_trend"]:
        fig[f"backlog.{point['month']}"] = point["value"]
    return fig


def test_report_figures_lights_and_no_data(simulated: Simulated) -> None:
    report, pipe = simulated.report, simulated.pipeline
    assert report["period"] == TERTIAL and report["months"] == list(MONTHS)
    got, want = report_figures(report), expected_figures(pipe)
    # Every figure of the report equals the direct SQL, and the report leaves none of those out.
    assert set(got) == set(want), f"only in report {sorted(set(got) - set(want))}, only in SQL " \
                                  f"{sorted(set(want) - set(got))}"
    wrong = {k: (got[k], want[k]) for k in got
             if not (_close(got[k], want[k]) if isinstance(want[k], float) or isinstance(got[k], float)
                     else got[k] == want[k])}
    assert not wrong, wrong
    # Monthly trends of the contact measures against the same SQL per month.
    per_month = {(r["month"], r["queue"]): r for r in _dicts(pipe, f"""
        SELECT formatDateTime(offered_at, '%Y-%m') AS month, queue,
               countIf(event_type = 'answered' AND wait_ms <= t_threshold_s * 1000) AS within,
               countIf(event_type IN ('answered', 'abandoned')) - countIf(event_type = 'abandoned'
                   AND wait_ms <= t_short_abandon_s * 1000) AS offered
        FROM v_contact_outcomes WHERE {PERIOD.format(c='toStartOfFifteenMinutes(offered_at)')}
        GROUP BY month, queue""")}
    for m in report["measures"]:
        if m["key"].startswith("contact.service_level:"):
            for point in m["trend"]:
                row = per_month.get((point["month"], m["subject"]))
                assert _close(point["value"], _ratio(row["within"], row["offered"]) if row else None), (m["key"], point)

    measures = {m["key"]: m for m in report["measures"]}
    # Lights follow the values (margins 0 here: any miss is red) ...
    for m in measures.values():
        direction = Direction(m["direction"])
        expected = traffic_light(m["value"], m["target"], direction, 0.0).value
        assert m["light"] == expected, m
    # ... the planted breaches are red: an e-mail left over days off, a complaint never acknowledged ...
    assert measures["email.within_deadline:payroll-service"]["light"] == "red"
    assert measures["complaints.acknowledged_in_time"]["light"] == "red"
    # ... and the targets-met baseline is green: every answer group with contacts, every other mailbox.
    with_contacts = [m for k, m in measures.items() if k.startswith("contact.") and m["basis"] > 0]
    assert with_contacts and all(m["light"] == "green" for m in with_contacts)
    # Every answered e-mail but the planted one is answered in time (those still unanswered when the simulated
    # stretch ends are late as of today, truthfully; the baseline is judged on the answered ones).
    late = {e["queue"]: e["answered"] - e["answered_in_time"] for e in report["emails"]}
    assert late.pop("payroll-service") == 1 and not any(late.values()), late
    # Targets without data in the period: no value and no light, never 0 %.
    payslips = measures["productivity.payslips_per_fte"]
    assert payslips["value"] is None and payslips["light"] == "none"
    assert measures["finance.suspense_change"]["value"] is None  # nothing on 9894 in 2025
    html = simulated.html.read_text(encoding="utf-8")
    assert 'data-figure="productivity.payslips_per_fte:value"><span class="nodata">ingen data</span>' in html
    assert "no data" in simulated.html_en.read_text(encoding="utf-8")
    assert 'lang="sv"' in html and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    # One month: the same figures as that month of the tertial's trend.
    month = json.loads(pipe.cli("report", "--month", "2026-03", "--format", "json").stdout)
    for m in month["measures"]:
        (point,) = m["trend"]
        assert _close(m["value"], point["value"]) and _close(m["value"], next(
            p["value"] for p in measures[m["key"]]["trend"] if p["month"] == "2026-03")), m["key"]
    # One customer: complaints, cases, 9894 and findings narrowed to it.
    customer = report["complaints"][0]["customer"]
    narrowed = json.loads(pipe.cli("report", "--tertial", TERTIAL, "--customer", customer, "--format", "json").stdout)
    assert narrowed["customer"] == customer and narrowed["complaints"]
    assert {c["customer"] for c in narrowed["complaints"]} == {customer}
    assert {b["customer"] for b in narrowed["backlog"]} <= {customer}
    # The contact centre is the whole administration's (ASA is a float sum: equal up to rounding).
    assert [(q["queue"], q["offered"], q["service_level"]) for q in narrowed["queues"]] == [
        (q["queue"], q["offered"], q["service_level"]) for q in report["queues"]]
    # No personal data: no agent, employee or registering staff id, no personnummer-shaped number.
    ids = {r[0] for r in pipe.rows("SELECT DISTINCT employee_id FROM payroll_lines LIMIT 200")}
    ids |= {r[0] for r in pipe.rows("SELECT DISTINCT agent_id FROM call_events WHERE agent_id IS NOT NULL LIMIT 200")}
    text = html + json.dumps(report)
    assert ids and not [i for i in ids if f">{i}<" in html or f'"{i}"' in text]


def _formatted(key: str, value: Any, lang: str = "sv") -> str:
    """How the page shows the figure `key` (the formatting functions are unit-tested on their own)."""
    if key.endswith(":basis"):
        return format_number(value, lang)
    if key.startswith("finance.suspense_change:") or key.endswith(".change"):
        return format_change(value, lang)
    if key.startswith("productivity."):
        return format_number(value, lang, 2 if key.endswith(".fte") else 0)
    if ":" in key or key.endswith((".service_level", ".abandonment", ".fcr", ".share_in_time")):
        return format_percent(value, lang)
    if key.endswith(".asa_s"):
        return format_number(value, lang, 1) + ("" if value is None else " s")
    if key.endswith((".mean_office_hours", ".mean_age_days")):
        return format_number(value, lang, 1)
    if key.endswith(".open_ore"):
        return format_money(value, lang)
    return format_number(value, lang)


class _Figures(HTMLParser):
    """Text of every element with a data-figure attribute, and each summary row's traffic light."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.lights: dict[str, str] = {}
        self._open: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("data-measure") and a.get("data-light"):
            self.lights[str(a["data-measure"])] = str(a["data-light"])
        if a.get("data-figure"):
            self._open.append((tag, str(a["data-figure"])))
            self.figures[str(a["data-figure"])] = ""

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.figures[self._open[-1][1]] += data


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--hide-scrollbars", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True, text=True, timeout=120, check=False)


def _console(stderr: str) -> list[str]:
    # Chromium logs every console message of the page (errors, CSP violations, failed loads) as `CONSOLE`; the
    # report has no script, so any such line is an error.
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


CHROMIUM = shutil.which("chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's `chromium` is not installed (apt-get install chromium; .ci/run "
                                             "installs it when run as root): the report's browser check needs it")
def test_report_in_headless_chromium(simulated: Simulated, tmp_path: Path) -> None:
    # The console check itself works: a page that logs is caught (so a quiet report means a clean one).
    canary = tmp_path / "canary.html"
    canary.write_text("<html><body><script>console.error('canary')</script></body></html>", encoding="utf-8")
    assert any("canary" in line for line in _console(_chromium("--dump-dom", canary.as_uri(), profile=tmp_path / "p0")
                                                     .stderr))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for html, shot in ((simulated.html, ARTIFACTS / "report.png"), (simulated.html_en, ARTIFACTS / "report-en.png")):
        shot.unlink(missing_ok=True)
        taken = _chromium(f"--screenshot={shot}", "--window-size=1280,4200", html.as_uri(), profile=tmp_path / "p1")
        assert taken.returncode == 0 and shot.stat().st_size > 10_000, taken.stderr[-2000:]
        assert not _console(taken.stderr), _console(taken.stderr)
    dom = _chromium("--dump-dom", simulated.html.as_uri(), profile=tmp_path / "p2")
    assert dom.returncode == 0 and not _console(dom.stderr), _console(dom.stderr)
    page = _Figures()
    page.feed(dom.stdout)
    want = expected_figures(simulated.pipeline)
    shown = {k: " ".join(v.split()) for k, v in page.figures.items()}
    assert set(shown) <= set(want), sorted(set(shown) - set(want))
    hidden = {k for k in set(want) - set(shown) if not k.endswith(".limit_days")}
    assert not hidden, sorted(hidden)
    wrong = {k: (v, _formatted(k, want[k])) for k, v in shown.items()
             if v != " ".join(_formatted(k, want[k]).split())}
    assert not wrong, wrong
    assert shown["productivity.payslips_per_fte:value"] == "ingen data"
    assert page.lights["email.within_deadline:payroll-service"] == "red"
    assert page.lights["complaints.acknowledged_in_time"] == "red"
    assert page.lights["productivity.payslips_per_fte"] == "none"
    # The optional PDF: Chromium prints the same page.
    pdf = ARTIFACTS / "report.pdf"
    pdf.unlink(missing_ok=True)
    simulated.pipeline.cli("report", "--tertial", TERTIAL, "--out", str(tmp_path / "r.html"), "--pdf", str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF")
