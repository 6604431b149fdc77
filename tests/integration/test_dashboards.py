"""Every Grafana dashboard in dashboards/ is well formed and every panel query runs against the real schema.

The ClickHouse plugin (grafana-clickhouse-datasource 4.x) expands macros in two places: `$__conditionalAll` and
template variables in the browser, `$__timeFilter`, `$__timeInterval`, `$__interval_s` ... in its backend. This
module expands them the same way, inserts a small, known data set into an isolated database with every migration
applied, and executes each query: it must run, time series must come back sorted by time, and a few numbers are
checked against values worked out by hand (service level, the 9894 year-over-year count, FINAL collapsing).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from servicepulse.domain.parameters import load_parameters
from servicepulse.domain.zone import STOCKHOLM
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
EXPECTED = {"contact-centre.json", "finance.json", "payroll.json", "pipeline-health.json", "payment-controls.json",
            "complaints.json", "lead-times.json", "productivity.json", "reviews.json"}
REVIEWS = "reviews.json"
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "clickhouse"}

# The dashboard range the queries are expanded with, and the interval Grafana would pick.
FROM = datetime(2026, 3, 1, tzinfo=UTC)
TO = datetime(2026, 3, 16, 12, tzinfo=UTC)
INTERVAL_S = 60

PERSONAL = ("employee_id", "agent_id", "payload", "source_key", "personnummer")
TIME_MACROS = ("$__timeFilter(", "$__timeFilter_ms(", "$__dateFilter(", "$__fromTime", "$__toTime")
# Panels that deliberately ignore the dashboard range: totals over all time, or the state now.
UNBOUNDED = {"Stored rows and highest offset per topic", "Open 9894 items now", "Open 9894 items per company and age",
             "Open 9894 items by age band (working days)", "Oldest open 9894 items", "Open complaints now",
             "Open complaints per customer and process — now", "Review status per rule", "Verdicts per rule"}
# ReplacingMergeTree tables: business counts read them with FINAL.
REPLACING = ("call_events", "invoice_postings", "payroll_runs", "payroll_lines", "complaints", "findings", "alerts")


# --------------------------------------------------------------------------- loading


def load_dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])  # a collapsed row keeps its panels inside
        else:
            yield panel


def targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in panels(dashboard):
        for target in panel.get("targets", []):
            yield panel, target


def variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(dashboard.get("templating", {}).get("list", []))


def all_sql(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel, target in targets(dashboard):
        yield panel["title"], target.get("rawSql", "")
    for var in variables(dashboard):
        if var.get("type") == "query":
            query = var.get("query")
            assert isinstance(query, str | dict), f"variable {var['name']} has no query"
            yield f"variable {var['name']}", query if isinstance(query, str) else query.get("rawSql", "")


# --------------------------------------------------------------------------- macro expansion (as the plugin does)


def _macro_args(sql: str, open_paren: int) -> tuple[list[str], int]:
    """Arguments of the macro whose '(' is at open_paren, split on top-level commas; and the index after ')'."""
    depth, start, args = 0, open_paren + 1, []
    for i in range(open_paren, len(sql)):
        char = sql[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:i])
                return args, i + 1
        elif char == "," and depth == 1:
            args.append(sql[start:i])
            start = i + 1
    raise AssertionError(f"unbalanced macro call at {open_paren}: {sql[open_paren:open_paren + 80]!r}")


def conditional_all(sql: str, all_selected: bool) -> str:
    """Frontend: `$__conditionalAll(cond, $var)` becomes 1=1 when the variable is "All", else cond."""
    macro = "$__conditionalAll("
    while (index := sql.rfind(macro)) != -1:
        args, end = _macro_args(sql, index + len(macro) - 1)
        assert len(args) == 2, f"$__conditionalAll needs 2 arguments, got {args}"
        sql = sql[:index] + ("1=1" if all_selected else args[0]) + sql[end:]
    return sql


_VAR = re.compile(r"\$\{(?P<braced>\w+)(?::(?P<fmt>\w+))?\}|\$(?P<plain>[A-Za-z]\w*)")


def template_variables(sql: str, values: dict[str, list[str]]) -> str:
    """Frontend: `${v:singlequote}` -> 'a','b'; `$v` -> a (single value, unquoted) or 'a','b' (multi)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("plain")
        if name not in values:
            raise AssertionError(f"unknown template variable ${name}")
        chosen, fmt = values[name], match.group("fmt")
        if fmt == "singlequote" or (fmt is None and len(chosen) > 1):
            return ",".join(f"'{v}'" for v in chosen)
        if fmt is None or fmt == "raw":
            return chosen[0]
        raise AssertionError(f"unsupported variable format {fmt!r}")

    return _VAR.sub(replace, sql)


def _to_datetime(t: datetime) -> str:
    return f"toDateTime({int(t.timestamp())})"


def _to_datetime64(t: datetime) -> str:
    return f"fromUnixTimestamp64Milli({int(t.timestamp() * 1000)})"


def backend_macros(sql: str, start: datetime = FROM, end: datetime = TO, interval_s: int = INTERVAL_S) -> str:
    """Backend: the ClickHouse plugin's macros (pkg/macros/macros.go)."""

    def expand(name: str, args: list[str]) -> str:
        column = args[0].strip() if args else ""
        match name, len(args):
            case "timeFilter", 1:
                return f"{column} >= {_to_datetime(start)} AND {column} <= {_to_datetime(end)}"
            case "timeFilter_ms", 1:
                return f"{column} >= {_to_datetime64(start)} AND {column} <= {_to_datetime64(end)}"
            case "dateFilter", 1:
                return f"{column} >= toDate('{start:%Y-%m-%d}') AND {column} <= toDate('{end:%Y-%m-%d}')"
            case "timeInterval", 1:
                return f"toStartOfInterval(toDateTime({column}), INTERVAL {interval_s} second)"
            case "timeInterval_ms", 1:
                return f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {interval_s * 1000} millisecond)"
            case "interval_s", 0:
                return str(interval_s)
            case "fromTime", 0:
                return _to_datetime(start)
            case "toTime", 0:
                return _to_datetime(end)
            case "fromTime_ms", 0:
                return _to_datetime64(start)
            case "toTime_ms", 0:
                return _to_datetime64(end)
        raise AssertionError(f"macro $__{name} with {len(args)} argument(s) is not one the plugin expands")

    pattern = re.compile(r"\$__(\w+)")
    out, pos = [], 0
    while (match := pattern.search(sql, pos)) is not None:
        args: list[str] = []
        after = match.end()
        if after < len(sql) and sql[after] == "(":
            args, after = _macro_args(sql, after)
        out += [sql[pos:match.start()], expand(match.group(1), args)]
        pos = after
    return "".join(out) + sql[pos:]


def expand(sql: str, values: dict[str, list[str]], all_selected: bool) -> str:
    expanded = backend_macros(template_variables(conditional_all(sql, all_selected), values))
    assert "$" not in expanded, f"unexpanded macro or variable left in:\n{expanded}"
    return expanded


# --------------------------------------------------------------------------- structure (no database needed)


def test_dashboard_structure() -> None:
    dashboards = load_dashboards()
    assert set(dashboards) >= EXPECTED, f"missing dashboards: {EXPECTED - set(dashboards)}"
    uids = [d.get("uid") for d in dashboards.values()]
    assert all(isinstance(u, str) and 0 < len(u) <= 40 for u in uids), uids
    assert len(set(uids)) == len(uids), f"dashboard uids are not unique: {uids}"
    titles = [d.get("title") for d in dashboards.values()]
    assert len(set(titles)) == len(titles), f"dashboard titles are not unique: {titles}"
    for name, dashboard in dashboards.items():
        assert 36 <= dashboard.get("schemaVersion", 0) <= 41, name
        assert dashboard.get("timezone") == "Europe/Stockholm", name
        ids = [p.get("id") for p in dashboard["panels"]]
        ids += [p.get("id") for row in dashboard["panels"] if row.get("type") == "row" for p in row.get("panels", [])]
        assert all(isinstance(i, int) for i in ids) and len(set(ids)) == len(ids), f"{name}: panel ids not unique"
        assert list(panels(dashboard)), f"{name} has no panels"
        for panel in panels(dashboard):
            where = f"{name} / {panel.get('title')}"
            assert panel.get("datasource") == DATASOURCE, where
            assert {"h", "w", "x", "y"} <= set(panel.get("gridPos", {})), where
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, where
            assert panel.get("targets"), f"{where}: no targets"
            ref_ids = [t.get("refId") for t in panel["targets"]]
            assert len(set(ref_ids)) == len(ref_ids), f"{where}: refIds are not unique"
            for target in panel["targets"]:
                assert target.get("datasource") == DATASOURCE, where
                assert target.get("editorType") == "sql", where
                assert isinstance(target.get("rawSql"), str) and target["rawSql"].strip(), where
                fmt = target.get("format")
                assert type(fmt) is int and fmt in (0, 1), f"{where}: format must be 0 or 1, got {fmt!r}"
                assert target.get("queryType") == ("timeseries" if fmt == 0 else "table"), where
                sql = target["rawSql"]
                if fmt == 0:
                    assert "$__timeFilter(" in sql or "$__dateFilter(" in sql, f"{where}: time series without filter"
                    assert re.search(r"ORDER BY\s+time\b", sql), f"{where}: time series must be ordered by time"
                if panel["title"] not in UNBOUNDED:
                    assert any(m in sql for m in TIME_MACROS), f"{where}: not bounded by the dashboard range"
                assert not re.search(r"SELECT\s+\*", sql, re.IGNORECASE), f"{where}: SELECT * may select personal data"
                if "_ingested_at" not in sql:  # the ingestion-rate panel counts physical rows on purpose
                    for table in REPLACING:
                        for found in re.finditer(rf"\bFROM\s+{table}\b(?!\s+(?:AS\s+\w+\s+)?FINAL\b)", sql):
                            raise AssertionError(f"{where}: {found.group(0)!r} without FINAL")
        for var in variables(dashboard):
            if var.get("type") == "query":
                assert var.get("datasource") == DATASOURCE, f"{name}: variable {var.get('name')}"


def test_no_panel_selects_personal_data() -> None:
    for name, dashboard in load_dashboards().items():
        for where, sql in all_sql(dashboard):
            for word in PERSONAL:
                assert word not in sql.lower(), f"{name} / {where} mentions {word}"


# --------------------------------------------------------------------------- execution against the real schema

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=STOCKHOLM)  # inside FROM..TO, a working Tuesday
INGESTED = datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
QUEUES = ["kc-social", "vasby-direkt"]


def _insert(pipeline: Pipeline, table: str, rows: list[dict[str, Any]]) -> None:
    columns = sorted({key for row in rows for key in row})
    data = [[row.get(column) for column in columns] for row in rows]
    pipeline.client().insert(table, data, column_names=columns)


def _meta(topic: str, offset: int) -> dict[str, Any]:
    return {"_topic": topic, "_partition": 0, "_offset": offset, "_ingested_at": INGESTED + timedelta(seconds=offset)}


def _contact(n: int, queue: str, channel: str, offered: datetime, outcome: str | None, wait_s: float,
             resolved: bool | None = None) -> list[dict[str, Any]]:
    """An offered row, then answered (and ended) or abandoned after wait_s; e-mail uses email_* types."""
    base = {"contact_id": f"c{n}", "channel": channel, "queue": queue, "org": "Kontaktcenter", "source": "test"}
    rows = [base | {"event_id": f"c{n}:offered", "event_type": "offered", "occurred_at": offered}]
    at = offered + timedelta(seconds=wait_s)
    if outcome == "answered":
        rows.append(base | {"event_id": f"c{n}:answered", "event_type": "answered", "occurred_at": at,
                            "offered_at": offered, "wait_ms": int(wait_s * 1000)})
        rows.append(base | {"event_id": f"c{n}:ended", "event_type": "ended", "occurred_at": at + timedelta(minutes=4),
                            "offered_at": offered, "handle_ms": 240_000, "resolved_first_contact": resolved})
    elif outcome == "abandoned":
        rows.append(base | {"event_id": f"c{n}:abandoned", "event_type": "abandoned", "occurred_at": at,
                            "offered_at": offered, "wait_ms": int(wait_s * 1000)})
    return rows


def seed(pipeline: Pipeline) -> None:
    minute = timedelta(minutes=1)
    calls = [
        *_contact(1, "kc-social", "phone", T0, "answered", 30, resolved=True),  # within 60 s
        *_contact(2, "kc-social", "phone", T0 + minute, "answered", 90, resolved=False),  # not within 60 s
        *_contact(3, "kc-social", "phone", T0 + 2 * minute, "abandoned", 3),  # short abandon: not offered
        *_contact(4, "kc-social", "phone", T0 + 3 * minute, "abandoned", 40),
        *_contact(5, "kc-social", "chat", T0 + 4 * minute, "answered", 200, resolved=True),  # chat: not in phone SL
        *_contact(6, "kc-social", "phone", T0 + timedelta(days=1), "answered", 10, resolved=True),
        *_contact(7, "vasby-direkt", "phone", T0 + 5 * minute, "answered", 90, resolved=True),  # within 120 s
        *_contact(8, "vasby-direkt", "phone", T0 + 6 * minute, "abandoned", 3),
    ]
    calls.append(dict(calls[1]))  # contact 1 answered, delivered twice by the source: FINAL collapses it
    mail = {"contact_id": "m1", "channel": "email", "queue": "kc-social", "org": "Kontaktcenter", "source": "test"}
    calls += [
        mail | {"event_id": "m1:received", "event_type": "email_received", "occurred_at": T0 - timedelta(hours=1)},
        mail | {"event_id": "m1:answered", "event_type": "email_answered", "occurred_at": T0 + timedelta(hours=2),
                "offered_at": T0 - timedelta(hours=1), "wait_ms": 3 * 3_600_000},
    ]
    _insert(pipeline, "call_events", [row | _meta("call-events", i) for i, row in enumerate(calls)])

    def posting(n: int, kind: str, company: str, account: str, amount: int, day: date) -> dict[str, Any]:
        return {"event_id": f"p{n}", "kind": kind, "company": company, "account": account, "amount_ore": amount,
                "currency": "SEK", "posting_date": day, "source": "test",
                "recorded_at": datetime(day.year, day.month, day.day, 10, tzinfo=STOCKHOLM)}

    postings = [
        posting(1, "supplier_invoice", "C01", "2440", -120_000, date(2026, 3, 5)),
        posting(2, "customer_invoice", "C01", "1510", 80_000, date(2026, 3, 5)),
        posting(3, "incoming_payment", "C01", "9894", -10_000, date(2026, 3, 5)),  # unidentified, this year
        posting(4, "incoming_payment", "C01", "9894", -5_000, date(2026, 2, 10)),  # this year, before the range
        posting(5, "ledger_posting", "C01", "9894", 10_000, date(2026, 3, 9)),  # re-booking: not counted
        posting(6, "incoming_payment", "C01", "9894", -1_000, date(2025, 1, 15)),  # same period last year ...
        posting(7, "incoming_payment", "C01", "9894", -1_000, date(2025, 2, 20)),
        posting(8, "incoming_payment", "C01", "9894", -1_000, date(2025, 3, 10)),
        posting(9, "incoming_payment", "C01", "9894", -1_000, date(2025, 6, 1)),  # ... and after it
        posting(10, "incoming_payment", "C02", "9894", -7_000, date(2026, 3, 6)),  # no baseline last year
    ]
    postings.append(dict(postings[2]))  # posting 3 twice
    _insert(pipeline, "invoice_postings", [row | _meta("invoice-postings", i) for i, row in enumerate(postings)])

    def run(run_id: str, kind: str, status: str, customer: str, at: datetime, channel: str,
            lines: int | None = None, gross: int | None = None, net: int | None = None) -> dict[str, Any]:
        return {"event_id": f"{run_id}:{status}", "run_id": run_id, "kind": kind, "status": status,
                "customer": customer, "period": "2026-03", "pay_date": date(2026, 3, 25), "payment_channel": channel,
                "line_count": lines, "gross_ore": gross, "net_ore": net, "occurred_at": at, "source": "test"}

    runs = [
        run("R1", "main", "opened", "Kulturförvaltningen", T0 - timedelta(days=7), "bank file"),
        run("R1", "main", "closed", "Kulturförvaltningen", T0 - timedelta(days=1), "bank file", 3, 5_000_000,
            3_600_000),
        run("U1", "urgent", "opened", "Kulturförvaltningen", T0 + timedelta(days=1), "girovision"),
        run("U1", "urgent", "closed", "Kulturförvaltningen", T0 + timedelta(days=1, hours=1), "girovision", 3,
            2_000_000, 1_500_000),
        run("U2", "urgent", "closed", "Stadsledningskontoret", T0 + timedelta(days=2), "agresso", 2, 900_000,
            700_000),
    ]
    runs.append(dict(runs[1]))  # the close of R1 twice
    _insert(pipeline, "payroll_runs", [row | _meta("payroll-runs", i) for i, row in enumerate(runs)])

    lines = []
    for run_id, customer, count in (("R1", "Kulturförvaltningen", 3), ("U1", "Kulturförvaltningen", 3),
                                    ("U2", "Stadsledningskontoret", 2)):
        for n in range(1, count + 1):
            lines.append({"event_id": f"{run_id}:{n}", "run_id": run_id, "line_no": n, "employee_id": f"e{n}",
                          "customer": customer, "pay_type": "11", "category": "gross", "amount_ore": 100_000,
                          "occurred_at": T0 - timedelta(days=2), "source": "test"})
    _insert(pipeline, "payroll_lines", [row | _meta("payroll-lines", i) for i, row in enumerate(lines)])

    def complaint(complaint_id: str, event_type: str, at: datetime) -> dict[str, Any]:
        return {"event_id": f"{complaint_id}:{event_type}", "complaint_id": complaint_id, "event_type": event_type,
                "occurred_at": at, "customer": "Kulturförvaltningen", "process": "payroll", "channel": "web",
                "category": "complaint", "source": "test"}

    # k1 acknowledged after 2 office hours (limit 8), k2 still open and unacknowledged.
    complaints = [complaint("k1", "registered", T0), complaint("k1", "acknowledged", T0 + timedelta(hours=2)),
                  complaint("k2", "registered", T0 + timedelta(hours=1))]
    _insert(pipeline, "complaints", [row | _meta("complaints", i) for i, row in enumerate(complaints)])

    # Two new-hire cases (limit "day 1-2"): opened Tuesday 09:00, one closed Wednesday, one the next Monday.
    def case(case_id: str, event_type: str, at: datetime) -> dict[str, Any]:
        return {"event_id": f"{case_id}:{event_type}", "case_id": case_id, "event_type": event_type,
                "case_type": "new_hire", "unit": "Lön", "customer": "Kulturförvaltningen", "occurred_at": at,
                "source": "test"}

    cases = [case("s1", "opened", T0), case("s1", "closed", T0 + timedelta(days=1)),
             case("s2", "opened", T0), case("s2", "closed", T0 + timedelta(days=6))]
    _insert(pipeline, "cases", [row | _meta("cases", i) for i, row in enumerate(cases)])

    _insert(pipeline, "staffing_fte", [
        {"month": "2026-03", "unit": "Lön", "role": "payroll_administrator", "fte": Decimal("0.5"), "source": "test"},
        {"month": "2026-03", "unit": "Ekonomi", "role": "supplier_invoices", "fte": Decimal("0.25"), "source": "test"},
        {"month": "2026-03", "unit": "Ekonomi", "role": "customer_invoices", "fte": Decimal("0.25"), "source": "test"},
    ])

    def finding(n: int, rule_id: str, company: str | None, at: datetime) -> dict[str, Any]:
        return {"finding_id": f"f{n}", "rule_id": rule_id, "rule_version": 1, "severity": "low",
                "subject_type": "voucher", "subject_id": f"{company}:B{n}", "company": company, "occurred_at": at,
                "detected_at": at + timedelta(minutes=1), "summary": f"finding {n}", "evidence_json": "{}",
                "source_event_ids": [f"p{n}"]}

    findings = [finding(1, "gl.suspense_posting", "C01", T0 - timedelta(days=5)),
                finding(2, "gl.suspense_posting", "C02", T0 - timedelta(days=4)),
                finding(3, "pay.other_rule", None, T0),
                finding(4, "bank.likely_unidentified", "C01", T0 - timedelta(days=4))]
    findings.append(dict(findings[0]))
    _insert(pipeline, "findings", [row | _meta("findings", i) for i, row in enumerate(findings)])

    alert = {"alert_id": "a1", "alert_key": "ops.dead_letters:call-events:2026-03-10T09", "state": "raised",
             "severity": "medium", "rule_id": "ops.dead_letters", "rule_version": 1, "title": "Rejected input",
             "measured_value": 1.0, "target": 0.0, "unit": "count", "window_start": T0,
             "window_end": T0 + timedelta(hours=1), "occurred_at": T0 + timedelta(minutes=5), "details_json": "{}"}
    _insert(pipeline, "alerts", [alert | _meta("alerts", 0), dict(alert) | _meta("alerts", 1)])

    letters = [{"source_topic": "call-events", "source_partition": 0, "source_offset": i, "kind": kind,
                "reason": f"reason {i}", "stage": "decode", "payload": "", "failed_at": T0 + timedelta(minutes=i)}
               | _meta("dead-letters", i) for i, kind in enumerate(["undecodable", "invalid", "invalid"])]
    _insert(pipeline, "dead_letters", letters)

    # Two lag samples of two partitions of one topic; the second partition never committed (lag NULL).
    lag = [{"sampled_at": T0 + timedelta(minutes=m), "consumer_group": "g", "topic": "call-events", "partition": p,
            "end_offset": end, "committed": committed, "lag": None if committed is None else end - committed}
           for m, p, end, committed in ((0, 0, 100, 40), (0, 1, 7, None), (1, 0, 120, 115), (1, 1, 9, None))]
    _insert(pipeline, "consumer_lag", lag)

    # Reviews of the findings above, as the sink stores them.
    at = T0 + timedelta(hours=1)

    def review(n: int, finding_id: str, rule_id: str, verdict: str, cause: str | None, minutes: int) -> dict[str, Any]:
        return {"review_id": f"r{n}", "finding_id": finding_id, "rule_id": rule_id, "verdict": verdict,
                "cause": cause, "cause_list_version": 1, "note": None, "reviewer": "ann",
                "reviewed_at": at + timedelta(minutes=minutes), "source": "test"}

    reviews = [review(1, "f1", "gl.suspense_posting", "needs_info", None, 0),
               review(2, "f1", "gl.suspense_posting", "confirmed", "registration_error", 5),  # the latest decides
               review(3, "f2", "gl.suspense_posting", "needs_info", None, 0),
               review(4, "f4", "bank.likely_unidentified", "false_positive", None, 0)]
    reviews.append(dict(reviews[1]))  # delivered twice: collapses
    _insert(pipeline, "finding_reviews", [row | _meta("finding-reviews", i) for i, row in enumerate(reviews)])


def _stockholm(t: datetime) -> datetime:
    """clickhouse-connect returns DateTime values without a zone as naive UTC."""
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(STOCKHOLM)


def _run_all(pipeline: Pipeline, all_selected: bool,
             only: set[str] | None = None) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    """Execute every panel and variable query (of the dashboards in `only`, default every one whose views are in
    the schema); returns rows per (dashboard file, panel title)."""
    results: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    client = pipeline.client()
    if only is None:
        only = set(load_dashboards())
    for name, dashboard in load_dashboards().items():
        if name not in only:
            continue
        values = {var["name"]: (QUEUES if all_selected else QUEUES[:1]) for var in variables(dashboard)}
        for var in variables(dashboard):
            if var.get("type") == "query":
                rows = [tuple(r) for r in client.query(var["query"]).result_rows]
                assert rows, f"{name}: variable {var['name']} returned nothing"
        for panel, target in targets(dashboard):
            sql = expand(target["rawSql"], values, all_selected)
            try:
                rows = [tuple(r) for r in client.query(sql).result_rows]
            except Exception as exc:
                raise AssertionError(f"{name} / {panel['title']} failed:\n{sql}\n{exc}") from exc
            results[(name, panel["title"])] = rows
            if target["format"] == 0 and rows:
                times = [row[0] for row in rows]
                assert all(isinstance(t, datetime) for t in times), f"{panel['title']}: first column is not a time"
                assert times == sorted(times), f"{name} / {panel['title']}: time series not sorted ascending"
                assert len(rows[0]) >= 2, f"{panel['title']}: a time series needs a value column"
    return results


def test_every_panel_query_runs_and_returns_data(pipeline: Pipeline) -> None:
    seed(pipeline)
    results = _run_all(pipeline, all_selected=True)
    empty = [key for key, rows in results.items() if not rows]
    assert not empty, f"panels without data for the seeded rows: {empty}"
    # A concrete selection instead of "All": the conditions are kept and must still run.
    _run_all(pipeline, all_selected=False)


def test_panel_numbers_match_hand_computed_values(pipeline: Pipeline) -> None:
    seed(pipeline)
    results = _run_all(pipeline, all_selected=True)

    # Service level: answered within 60 s (120 s for vasby-direkt) / offered without short abandons, phone only.
    # kc-social: c1 (30 s) and c6 (10 s) within, c2 (90 s) not, c4 abandoned after 40 s, c3 short -> 2 / 4.
    # The duplicated c1 answer must not count twice (FINAL).
    overall = dict(results[("contact-centre.json", "Service level — selected period")])
    assert overall == {"kc-social": 50.0, "vasby-direkt": 100.0}
    per_15 = [(_stockholm(t), q, v) for t, q, v in results[("contact-centre.json", "Service level per 15 minutes")]]
    assert (T0, "kc-social", round(100 / 3, 1)) in per_15  # 09:00 bucket: c1 within, c2 and c4 not
    assert (T0 + timedelta(days=1), "kc-social", 100.0) in per_15

    summary = {(r[0], r[1]): r for r in results[("contact-centre.json", "Answer groups — selected period")]}
    _queue, _channel, offered, answered, abandoned, short, sl, asa = summary[("kc-social", "phone")]
    assert (offered, answered, abandoned, short, sl) == (5, 3, 2, 1, 50.0)
    assert asa == round((30 + 90 + 10) / 3, 1)

    # 9894 year to date (to 2026-03-16) vs 1 Jan - 16 Mar 2025, credit postings only, posting 3 counted once.
    per_company = {r[0]: r[1:] for r in results[("finance.json", "9894 per company — year to date vs last year, "
                                                                "against the goal")]}
    assert per_company["C01"] == (2, 3, -33.3, -3, "on track")
    assert per_company["C02"][:2] == (1, 0) and per_company["C02"][-1] == "no baseline"
    assert results[("finance.json", "9894 postings, year to date vs same period last year")] == [(0.0,)]

    findings = results[("finance.json", "Findings: postings to the suspense account (gl.suspense_posting)")]
    assert sorted(r[1] for r in findings) == ["C01:B1", "C02:B2"]

    lag_now = results[("pipeline-health.json", "Consumer lag now, per partition")]
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in lag_now] == [("call-events", 0, 120, 115, 5),
                                                                 ("call-events", 1, 9, None, None)]
    assert [r[2] for r in results[("pipeline-health.json", "Consumer lag per topic")]] == [60, 5]

    main_runs = results[("payroll.json", "Closed main runs")]
    assert [(r[0], r[4], r[5], r[6], r[7], r[8]) for r in main_runs] == [("R1", 3, 3, 0, 50_000, 36_000)]
    urgent = {r[0]: r[1:] for r in results[("payroll.json", "Urgent runs per customer")]}
    assert urgent == {"Kulturförvaltningen": (1, 0, 0), "Stadsledningskontoret": (0, 1, 0)}
    assert len(results[("pipeline-health.json", "Alerts")]) == 1  # raised once, delivered twice: FINAL


def test_new_panels_match_hand_computed_values(pipeline: Pipeline) -> None:
    seed(pipeline)
    results = _run_all(pipeline, all_selected=True)

    # Bank and ledger findings only (pay.other_rule left out), per Stockholm day of the flagged event.
    per_day = [(_stockholm(t).date(), rule, n) for t, rule, n in
               results[("payment-controls.json", "Bank and ledger findings per rule and day")]]
    assert per_day == [(date(2026, 3, 5), "gl.suspense_posting", 1), (date(2026, 3, 6), "bank.likely_unidentified", 1),
                       (date(2026, 3, 6), "gl.suspense_posting", 1)]
    # 9894 open items: C01 has p3, p4, p6-p9 opened; the re-booking p5 (same amount, 100 SEK) clears p3; p3's
    # duplicate delivery counts once. C02 has p10. Ages depend on today, so only counts and amounts are checked.
    open_items = {r[0]: r[1:3] for r in results[("payment-controls.json", "Open 9894 items per company and age")]}
    assert open_items == {"C01": (5, 90.0), "C02": (1, 70.0)}
    assert results[("payment-controls.json", "Open 9894 items now")] == [(6,)]
    oldest = results[("payment-controls.json", "Oldest open 9894 items")]
    assert [r[1] for r in oldest] == ["p6", "p7", "p8", "p9", "p4", "p10"]  # oldest first

    # k1 acknowledged after 2 office hours (limit 8), k2 not yet: 1 of 1 acknowledged in time; 2 open now.
    per_customer = results[("complaints.json", "Per customer and process — selected period")]
    assert per_customer == [("Kulturförvaltningen", "payroll", 2, 2, 1, 1, 100.0, 2.0, 0)]
    assert results[("complaints.json", "Acknowledged within the limit")] == [(100.0,)]
    assert results[("complaints.json", "Open complaints now")] == [(2, 1)]
    backlog = [(_stockholm(t).date(), n) for t, _customer, n in
               results[("complaints.json", "Open complaints at the end of each day")]]
    assert backlog == [(date(2026, 3, d), 2) for d in range(10, 17)]  # registered 10 March, range ends 16 March

    # E-mail m1: received 08:00, answered 11:00 = 3 office hours, limit 1 working day = 8.5 office hours.
    assert results[("lead-times.json", "E-mail lead time per answer group vs the limit")] == [
        ("kc-social", 1, 1, 1, 100.0, 0, 3.0, 8.5)]
    # New hires (day 1-2): s1 closed on day 2, s2 six days later; mean lead time (1 + 6) / 2 days.
    assert results[("lead-times.json", "Case lead times per case type vs the limit")] == [
        ("new_hire", 2, 2, 2, 1, 50.0, 0, 3.5)]

    # Main run R1 (period 2026-03) pays e1-e3: 3 payslips / 0.5 FTE; one invoice of each kind / 0.25 FTE.
    assert results[("productivity.json", "Payslips per FTE and month vs target")] == [
        ("2026-03", 3, 0.5, 6.0, 940.0, "below")]
    invoices = {r[1]: r[4:] for r in results[("productivity.json", "Invoices per FTE and month vs target")]}
    assert invoices == {"supplier_invoice": (4.0, 3100.0, "below"), "customer_invoice": (4.0, 5100.0, "below")}


def test_review_panels_read_the_review_views(pipeline: Pipeline) -> None:
    """The auditors' dashboard on the real review views: the seeded reviews, figures by hand."""
    seed(pipeline)
    results = _run_all(pipeline, all_selected=True, only={REVIEWS})
    # f1, f2 suspense postings (f1 stored twice), f3 never reviewed, f4 a false positive; most open first.
    assert results[(REVIEWS, "Review status per rule")] == [
        ("gl.suspense_posting", 2, 1, 50.0, 1, 0, 1, 1),
        ("pay.other_rule", 1, 0, 0.0, 0, 0, 0, 1),
        ("bank.likely_unidentified", 1, 1, 100.0, 0, 1, 0, 0)]
    label = load_parameters().review_causes["registration_error"][0]
    # f1 was flagged on 5 March 2026 (inside the range's month): one error, registration.
    assert results[(REVIEWS, "Errors per cause")] == [(label, 1)]
    assert results[(REVIEWS, "Error causes per month")] == [
        ("2026-03", "2026-T1", "registration_error", label, 1, 0, 1)]
    assert results[(REVIEWS, "Error causes per tertial")] == [("2026-T1", label, 1)]
