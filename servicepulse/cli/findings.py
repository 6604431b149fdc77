"""`findings list|show|review` and `samples list|review`: auditors record what they concluded, as events on topics."""

from __future__ import annotations

import contextlib
import csv
import getpass
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from servicepulse.domain.personal_data import redact
from servicepulse.domain.rules import stable_id
from servicepulse.schemas.events import FindingReview, ReviewVerdict, SampleResult, SampleReview

from .common import console, fail, settings_and_logging

__all__ = [
    "CSV_COLUMNS",
    "ReviewRefused",
    "finding_review",
    "read_review_csv",
    "register",
    "sample_review",
    "split_document_id",
]

# A refused review (unknown finding, unknown cause, a confirmed verdict without a cause) exits with this code.
EXIT_REFUSED = 2
CSV_COLUMNS = ("finding_id", "verdict", "cause", "note")
CSV_OPTIONAL = ("reviewer", "reviewed_at")


class ReviewRefused(ValueError):
    """A review that must not be recorded, with the reason for the auditor."""


class Status(StrEnum):
    open = "open"
    reviewed = "reviewed"


class Format(StrEnum):
    table = "table"
    tsv = "tsv"
    json = "json"


def register(app: typer.Typer) -> None:
    findings = typer.Typer(help="Findings and their review: list, show, record a verdict (one or a CSV batch).",
                           no_args_is_help=True)
    findings.command("list", help="Findings with their review status (open = never reviewed or needs_info).")(
        list_findings)
    findings.command("show", help="One finding: evidence, source events and every review.")(show_finding)
    findings.command("review", help="Record a verdict on a finding, or a batch from --csv FILE.")(review_finding)
    app.add_typer(findings, name="findings")
    samples = typer.Typer(help="Sampled pay documents (stickprov) and their review.", no_args_is_help=True)
    samples.command("list", help="Sampled pay documents, id RUN_ID/DOCUMENT, with their latest result.")(
        list_samples)
    samples.command("review", help="Record the result of one sampled pay document: ok, or error with a cause.")(
        review_sample)
    app.add_typer(samples, name="samples")


# --------------------------------------------------------------------------- pure: building and checking reviews


def _reviewer(name: str | None) -> str:
    who = (name or os.environ.get("USER") or _login() or "").strip()
    if not who:
        raise ReviewRefused("no reviewer: pass --reviewer NAME (USER is not set)")
    return who


def _login() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _cause(cause: str | None, causes: Mapping[str, Any], required: bool, what: str) -> str | None:
    code = (cause or "").strip() or None
    if code is None:
        if required:
            raise ReviewRefused(f"{what} needs --cause; one of: {', '.join(sorted(causes))}")
        return None
    if code not in causes:
        raise ReviewRefused(f"unknown cause code {code!r}; one of: {', '.join(sorted(causes))}")
    return code


def finding_review(finding_id: str, rule_id: str, verdict: str, cause: str | None, note: str | None,
                   reviewer: str | None, causes: Mapping[str, Any], causes_version: int,
                   reviewed_at: datetime | None = None, source: str = "cli") -> FindingReview:
    """The review event, or ReviewRefused: unknown verdict or cause, a confirmed verdict without a cause. The note is
    has every personnummer masked before it goes anywhere. The auditor's own words stay readable (what the review
    is for); `redact_free_text`, made for remittance text from outside, would mask every ordinary word."""
    try:
        chosen = ReviewVerdict(verdict.strip())
    except ValueError:
        raise ReviewRefused(f"unknown verdict {verdict!r}; one of: "
                            f"{', '.join(v.value for v in ReviewVerdict)}") from None
    code = _cause(cause, causes, chosen is ReviewVerdict.confirmed, "a confirmed finding")
    who = _reviewer(reviewer)
    when = reviewed_at or datetime.now(UTC)
    text = redact(note.strip()) if note and note.strip() else None
    return FindingReview(
        review_id=stable_id("finding-review", finding_id, chosen.value, code, text, who, when.isoformat()),
        finding_id=finding_id, rule_id=rule_id, verdict=chosen, cause=code, cause_list_version=causes_version,
        note=text, reviewer=who, reviewed_at=when, source=source,
    )


def split_document_id(document_id: str) -> tuple[str, str]:
    """`RUN_ID/DOCUMENT` -> (run id, document); a document (anstid or pseudonym) has no slash, a run id may."""
    run_id, _, document = document_id.strip().rpartition("/")
    if not run_id or not document:
        raise ReviewRefused(f"sampled document id {document_id!r}: expected RUN_ID/DOCUMENT "
                            "(see `servicepulse samples list`)")
    return run_id, document


def sample_review(run_id: str, document: str, result: str, cause: str | None, note: str | None,
                  reviewer: str | None, causes: Mapping[str, Any], causes_version: int,
                  reviewed_at: datetime | None = None) -> SampleReview:
    """The review of one sampled pay document, or ReviewRefused (an error needs a known cause)."""
    try:
        chosen = SampleResult(result.strip())
    except ValueError:
        raise ReviewRefused(f"unknown result {result!r}; one of: ok, error") from None
    code = _cause(cause, causes, chosen is SampleResult.error, "a document in error")
    who = _reviewer(reviewer)
    when = reviewed_at or datetime.now(UTC)
    text = redact(note.strip()) if note and note.strip() else None
    return SampleReview(
        review_id=stable_id("sample-review", run_id, document, chosen.value, code, text, who, when.isoformat()),
        run_id=run_id, document=document, result=chosen, cause=code, cause_list_version=causes_version, note=text,
        reviewer=who, reviewed_at=when,
    )


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]


def read_review_csv(text: str) -> tuple[list[CsvRow], list[tuple[int, str]]]:
    """Rows of a review CSV (header finding_id,verdict,cause,note[,reviewer][,reviewed_at]; comma or semicolon) with
    their line numbers, and (line, reason) for every row that cannot be read."""
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("finding_id", "verdict") if c not in header]
    if missing:
        return [], [(1, f"header lacks {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}"
                        f"[,{','.join(CSV_OPTIONAL)}]")]
    rows: list[CsvRow] = []
    errors: list[tuple[int, str]] = []
    for record in reader:
        line = reader.line_num
        if None in record:
            errors.append((line, f"{len(record[None])} value(s) more than the header's columns"))
            continue
        values = {str(k).strip(): (v or "").strip() for k, v in record.items()}
        if not any(values.values()):
            continue
        rows.append(CsvRow(line, values))
    return rows, errors


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ReviewRefused(f"reviewed_at {text!r} has no time zone (e.g. 2026-03-31T14:00:00+02:00)")
    return value


# --------------------------------------------------------------------------- ClickHouse look-ups and Kafka


def _client() -> Any:
    from servicepulse.connectors.clickhouse import connect

    return connect(settings_and_logging().clickhouse)


def _known_findings(client: Any, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = client.query("SELECT finding_id, any(rule_id) FROM findings WHERE finding_id IN {ids:Array(String)} "
                        "GROUP BY finding_id", parameters={"ids": wanted}).result_rows
    return {str(f): str(r) for f, r in rows}


def _produce(events: Sequence[FindingReview | SampleReview], wait: bool, timeout: float) -> None:
    from servicepulse.connectors.kafka import EventProducer
    from servicepulse.connectors.serde import WireCodec, build_registry

    from .ingest import _Expected, _wait_until_queryable

    settings = settings_and_logging()
    producer = EventProducer(settings.kafka, WireCodec(build_registry(settings.registry.url, settings.registry.file)))
    expected = _Expected(settings)
    try:
        for event in events:
            producer.send(event, on_delivery=expected.callback(event))
        producer.flush()
    finally:
        producer.close()
    if expected.failed:
        fail(f"{len(expected.failed)} reviews were not delivered to Kafka, first: {expected.failed[0]}")
    if wait:
        _wait_until_queryable(settings, expected.positions, timeout)


def _print(columns: list[str], rows: list[list[Any]], fmt: Format) -> None:
    from .query import OutputFormat
    from .query import _print as print_rows

    print_rows(columns, rows, OutputFormat(fmt.value))


# --------------------------------------------------------------------------- commands


def list_findings(
    rule: str | None = typer.Option(None, "--rule", help="Only this rule id"),
    status: Status | None = typer.Option(None, "--status", help="open (never reviewed or needs_info) or reviewed"),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many, newest first"),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, tsv or json"),
) -> None:
    where = ["({rule:String} = '' OR rule_id = {rule:String})"]
    if status is Status.open:
        where.append("status IN ('open', 'needs_info')")
    elif status is Status.reviewed:
        where.append("status IN ('confirmed', 'false_positive')")
    result = _client().query(
        "SELECT finding_id, rule_id, severity, company, occurred_at, status, cause, reviewer, summary "
        f"FROM v_findings_review_status WHERE {' AND '.join(where)} "
        "ORDER BY occurred_at DESC, finding_id LIMIT {limit:UInt32}",
        parameters={"rule": rule or "", "limit": limit})
    _print(list(result.column_names), [list(r) for r in result.result_rows], fmt)


def show_finding(finding_id: str = typer.Argument(..., help="finding_id")) -> None:
    client = _client()
    result = client.query("SELECT * FROM audit_findings WHERE finding_id = {id:String}", parameters={"id": finding_id})
    if not result.result_rows:
        fail(f"no finding {finding_id!r}", EXIT_REFUSED)
    finding = dict(zip(result.column_names, result.result_rows[0], strict=True))
    with contextlib.suppress(TypeError, ValueError):
        finding["evidence_json"] = json.loads(finding["evidence_json"])
    reviews = client.query(
        "SELECT reviewed_at, reviewer, verdict, cause, note, source FROM finding_reviews FINAL "
        "WHERE finding_id = {id:String} ORDER BY reviewed_at, review_id", parameters={"id": finding_id})
    finding["reviews_recorded"] = [dict(zip(reviews.column_names, r, strict=True)) for r in reviews.result_rows]
    typer.echo(json.dumps(finding, ensure_ascii=False, indent=2, default=str))


def review_finding(
    finding_id: str | None = typer.Argument(None, help="finding_id (omit with --csv)"),
    verdict: str | None = typer.Option(None, "--verdict", help="confirmed, false_positive or needs_info"),
    cause: str | None = typer.Option(None, "--cause", help="Cause code (required when confirmed); see "
                                     "`servicepulse sql \"SELECT * FROM review_causes\"`"),
    note: str | None = typer.Option(None, "--note", help="Free text; reduced (no personnummer, no names) before "
                                    "it is stored"),
    reviewer: str | None = typer.Option(None, "--reviewer", help="Who reviewed (default: $USER)"),
    csv_file: Path | None = typer.Option(None, "--csv", exists=True, dir_okay=False, readable=True,
                                         help="Batch: finding_id,verdict,cause,note[,reviewer][,reviewed_at]"),
    wait: bool = typer.Option(False, "--wait", help="Return when the review is queryable in ClickHouse"),
    timeout: float = typer.Option(120.0, help="With --wait: give up after this many seconds"),
) -> None:
    from servicepulse.domain.parameters import load_parameters

    settings = settings_and_logging()
    parameters = load_parameters(settings.rules.parameters_file)
    causes, version = parameters.review_causes, parameters.review_causes_version
    if csv_file is not None:
        if finding_id is not None or verdict is not None:
            fail("give either a finding id with --verdict, or --csv FILE", EXIT_REFUSED)
        _review_csv(csv_file, reviewer, causes, version, wait, timeout)
        return
    if finding_id is None or verdict is None:
        fail("give a finding id and --verdict (or --csv FILE)", EXIT_REFUSED)
    known = _known_findings(_client(), [finding_id])
    if finding_id not in known:
        fail(f"no finding {finding_id!r}: nothing recorded (see `servicepulse findings list`)", EXIT_REFUSED)
    try:
        event = finding_review(finding_id, known[finding_id], verdict, cause, note, reviewer, causes, version)
    except ReviewRefused as exc:
        fail(f"{exc}: nothing recorded", EXIT_REFUSED)
    _produce([event], wait, timeout)
    console.print(f"review {event.review_id} of {finding_id} recorded: {event.verdict.value}"
                  + (f", cause {event.cause}" if event.cause else "")
                  + (f", note stored as {event.note!r}" if event.note else ""))


def _review_csv(path: Path, reviewer: str | None, causes: Mapping[str, Any], version: int, wait: bool,
                timeout: float) -> None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(f"{path.name}: not UTF-8 ({exc.reason})", EXIT_REFUSED)
    rows, errors = read_review_csv(text)
    known = _known_findings(_client(), (r.values.get("finding_id", "") for r in rows))
    events: list[FindingReview] = []
    for row in rows:
        v = row.values
        try:
            if v.get("finding_id", "") not in known:
                raise ReviewRefused(f"no finding {v.get('finding_id', '')!r}")
            when = _parse_time(v["reviewed_at"]) if v.get("reviewed_at") else None
            events.append(finding_review(v["finding_id"], known[v["finding_id"]], v.get("verdict", ""),
                                         v.get("cause"), v.get("note"), v.get("reviewer") or reviewer, causes,
                                         version, when, source=f"csv:{path.name}"))
        except (ReviewRefused, ValueError) as exc:
            errors.append((row.line, str(exc)))
    if events:
        _produce(events, wait, timeout)
    for line, reason in sorted(errors):
        console.print(f"[red]{path.name}:{line}[/]: {reason}")
    console.print(f"{len(events)} review(s) recorded from {path.name}, {len(errors)} row(s) refused")
    if errors:
        raise typer.Exit(EXIT_REFUSED)


def list_samples(
    run: str | None = typer.Option(None, "--run", help="Only this payroll run"),
    status: Status | None = typer.Option(None, "--status", help="open (not yet reviewed) or reviewed"),
    limit: int = typer.Option(200, "--limit", min=1),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, tsv or json"),
) -> None:
    where = ["({run:String} = '' OR run_id = {run:String})"]
    if status is Status.open:
        where.append("result = ''")
    elif status is Status.reviewed:
        where.append("result != ''")
    result = _client().query(
        "SELECT concat(run_id, '/', document) AS id, customer, pay_date, result, cause, reviewer "
        f"FROM v_sample_documents WHERE {' AND '.join(where)} ORDER BY run_id, document LIMIT {{limit:UInt32}}",
        parameters={"run": run or "", "limit": limit})
    _print(list(result.column_names), [list(r) for r in result.result_rows], fmt)


def review_sample(
    document_id: str = typer.Argument(..., help="RUN_ID/DOCUMENT, as `servicepulse samples list` shows it"),
    result: str = typer.Option(..., "--result", help="ok or error"),
    cause: str | None = typer.Option(None, "--cause", help="Cause code (required for an error)"),
    note: str | None = typer.Option(None, "--note", help="Free text; reduced before it is stored"),
    reviewer: str | None = typer.Option(None, "--reviewer", help="Who reviewed (default: $USER)"),
    wait: bool = typer.Option(False, "--wait", help="Return when the review is queryable in ClickHouse"),
    timeout: float = typer.Option(120.0, help="With --wait: give up after this many seconds"),
) -> None:
    from servicepulse.domain.parameters import load_parameters

    settings = settings_and_logging()
    parameters = load_parameters(settings.rules.parameters_file)
    try:
        run_id, document = split_document_id(document_id)
        drawn = _client().command(
            "SELECT count() FROM payroll_samples FINAL WHERE run_id = {run:String} AND has(documents, {doc:String})",
            parameters={"run": run_id, "doc": document})
        if not int(drawn):
            raise ReviewRefused(f"{document_id!r} is not a sampled document (see `servicepulse samples list`)")
        event = sample_review(run_id, document, result, cause, note, reviewer, parameters.review_causes,
                              parameters.review_causes_version)
    except ReviewRefused as exc:
        fail(f"{exc}: nothing recorded", EXIT_REFUSED)
    _produce([event], wait, timeout)
    console.print(f"review {event.review_id} of {document_id} recorded: {event.result.value}"
                  + (f", cause {event.cause}" if event.cause else ""))
