"""`ingest FORMAT FILE...`: parse files, publish valid events, send bad lines to dead letters, optionally wait."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from servicepulse.config import Settings
from servicepulse.schemas.events import Event

from .common import console, fail, protected_ids, settings_and_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command(help="Publish files to the topics: events-jsonl, calls-csv, sie4, bgmax, camt054, paxml.")(ingest)


def ingest(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="events-jsonl | calls-csv | sie4 | bgmax | camt054 | paxml"),
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    wait: bool = typer.Option(False, "--wait", help="Return when every event is queryable in ClickHouse"),
    timeout: float = typer.Option(300.0, help="With --wait: give up after this many seconds"),
    protected: Path | None = typer.Option(None, "--protected", exists=True, dir_okay=False,
                                          help="paxml: CSV side feed with an 'anstid' column: protected identities"),
) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from servicepulse.connectors.ingest import ParseError, get_parser
    from servicepulse.connectors.kafka import EventProducer, ensure_topics
    from servicepulse.connectors.serde import WireCodec, build_registry
    from servicepulse.schemas.events import DeadLetter, DeadLetterKind

    settings = settings_and_logging()
    try:
        parser = get_parser(fmt, settings)
    except KeyError as exc:
        fail(str(exc.args[0]))
    ensure_topics(settings.kafka)
    codec = WireCodec(build_registry(settings.registry.url, settings.registry.file))
    producer = EventProducer(settings.kafka, codec)
    expected = _Expected(settings, track=wait)
    sent: Counter[str] = Counter()
    errors: list[tuple[str, int, str]] = []
    started = time.monotonic()
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        for path in files:
            task = progress.add_task(path.name, total=path.stat().st_size)
            with path.open("rb") as handle:
                last = count = 0
                items = (_paxml_items(settings, path, handle, protected, progress.console) if fmt == "paxml"
                         else parser(handle))
                for item in items:
                    if isinstance(item, ParseError):
                        errors.append((path.name, item.line, item.reason))
                        letter = DeadLetter(
                            source_topic=f"file:{path.name}", source_partition=-1, source_offset=item.line,
                            kind=DeadLetterKind.rejected, reason=item.reason, stage=f"ingest:{fmt}",
                            payload=item.raw, failed_at=datetime.now(UTC),
                        )
                        producer.send(letter, on_delivery=expected.callback(letter))
                        sent["dead_letters"] += 1
                    else:
                        producer.send(item.event, on_delivery=expected.callback(item.event))
                        sent[type(item.event).topic_attr] += 1
                    count += 1
                    if count % 4096:
                        continue  # the bar moves every few thousand events: an update per event cost 5 % (py-spy)
                    position = handle.tell() if not handle.closed else last
                    if position != last:
                        progress.update(task, completed=position)
                        last = position
            progress.update(task, completed=path.stat().st_size)
    producer.flush()
    if expected.failed:
        fail(f"{len(expected.failed)} events were not delivered to Kafka, first: {expected.failed[0]}")
    for name, line, reason in errors[:20]:
        console.print(f"[red]{name}:{line}[/]: {reason}")
    if len(errors) > 20:
        console.print(f"... and {len(errors) - 20} more errors, all in dead_letters")
    published = time.monotonic() - started
    if wait:
        _wait_until_queryable(settings, expected.positions, timeout)
    total = sum(sent.values())
    console.print(
        f"{total} events published in {published:.1f}s"
        + (f", queryable after {time.monotonic() - started:.1f}s" if wait else "")
        + ": " + ", ".join(f"{k} {v}" for k, v in sorted(sent.items()))
    )
    if errors:
        console.print(f"[yellow]{len(errors)} bad line(s) sent to dead letters[/]")
        raise typer.Exit(2)


def _paxml_items(settings: Settings, path: Path, handle: Any, protected: Path | None, out: Any) -> Any:
    """A PAXml file's events and errors as the file is read; its `personal` master data goes into the restricted
    table (never on a topic) before the run's closed header is published, so the run's check sees it. Says
    which rules are blind when no master data is stored for the run's employees."""
    from servicepulse.connectors.clickhouse import connect
    from servicepulse.connectors.ingest import Record
    from servicepulse.connectors.ingest.paxml import (
        PaxmlDocument,
        PersonRecord,
        TimeTransaction,
        stream_document,
    )
    from servicepulse.schemas.events import PayLine, PayrollRunStatus
    from servicepulse.streams.readback.payroll_people import MASTER_DATA_RULES, known_employees, save_people

    flagged = protected_ids(protected)
    client = connect(settings.clickhouse)
    doc = PaxmlDocument()
    # Master data is a row per employee (not per line): kept until the closed header, then stored in one upsert.
    people: list[PersonRecord] = []
    employees: set[str] = set()

    def store_people() -> None:
        if people:
            # A bank account differing from the stored one changed by the time the file was written.
            day = doc.exported_on or datetime.now(UTC).date()
            stored = save_people(client, people, day, salt=settings.payroll.key())
            out.print(f"{path.name}: {stored} people's master data stored in payroll_people_restricted")
            people.clear()
        missing = sorted(employees - known_employees(client, sorted(employees)))
        if missing:
            what = ("has no <personal> section" if not doc.has_personal
                    else "lacks <personal> master data for some of its employees")
            out.print(f"[yellow]{path.name} {what}: {len(missing)} of {len(employees)} employees have no master "
                      f"data, so {', '.join(MASTER_DATA_RULES)} cannot see them. Ingest the payroll system's export "
                      "with <personal> (employment dates, bank accounts) first, or run `servicepulse controls "
                      "people MASTER_DATA.paxml`, then ingest this file again.[/]")
        employees.clear()

    for item in stream_document(handle, flagged, doc=doc):
        if isinstance(item, PersonRecord):
            people.append(item)
        elif isinstance(item, Record):
            event = item.event
            if isinstance(event, PayLine):
                employees.add(event.employee_id)
            elif event.status is PayrollRunStatus.closed:
                store_people()
            yield item
        elif not isinstance(item, TimeTransaction):
            yield item
    store_people()
    if doc.transactions:
        out.print(f"{path.name}: {doc.transactions} registered pay transactions read"
                  + (f", {doc.unpaid_transactions} not paid on a payslip of this run (not published)"
                     if doc.unpaid_transactions else ""))


class _Expected:
    """Where each delivered event will be recorded in sink_watermarks: (table, topic, partition) -> offset."""

    def __init__(self, settings: Settings, track: bool = True) -> None:
        from servicepulse.streams.sink import TABLES

        self._tables = {getattr(settings.kafka.topics, attr): spec for attr, spec in TABLES.items()}
        self._track = track
        self.positions: dict[tuple[str, str, int], int] = {}
        self.failed: list[str] = []

    def _failures(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed.append(str(err))

    def callback(self, event: Event) -> Callable[[Any, Any], None]:
        if not self._track:
            # Without --wait the positions are never read: one shared callback, no closure and no position per
            # event (a main run publishes 1.2 M).
            return self._failures

        def delivered(err: Any, msg: Any) -> None:
            if err is not None:
                self.failed.append(str(err))
                return
            from servicepulse.streams.sink import Message, position

            spec = self._tables[msg.topic()]
            where = Message(msg.topic(), msg.partition(), msg.offset(), None, None)
            topic, partition, offset = position(spec, where, event)
            key = (spec.table, topic, partition)
            self.positions[key] = max(offset, self.positions.get(key, -1))

        return delivered


def _wait_until_queryable(settings: Settings, expected: dict[tuple[str, str, int], int], timeout: float) -> None:
    """Every delivered event must be at or below its table's stored watermark."""
    from servicepulse.connectors.clickhouse import connect

    client = connect(settings.clickhouse)
    deadline = time.monotonic() + timeout
    while True:
        rows = client.query(
            "SELECT table_name, topic, partition, max(max_offset) FROM sink_watermarks"
            " GROUP BY table_name, topic, partition"
        ).result_rows
        stored = {(t, topic, int(p)): int(o) for t, topic, p, o in rows}
        pending = sorted(key for key, offset in expected.items() if stored.get(key, -1) < offset)
        if not pending:
            return
        if time.monotonic() > deadline:
            fail(f"not all events queryable after {timeout:.0f}s; waiting on {pending[:5]}")
        time.sleep(0.2)
