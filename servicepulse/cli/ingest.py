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

from .common import console, fail, settings_and_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command(help="Publish files to the topics: events-jsonl, calls-csv, sie4, bgmax, camt054, paxml.")(ingest)


def ingest(
    fmt: str = typer.Argument(..., metavar="FORMAT", help="events-jsonl | calls-csv | sie4 | bgmax | camt054 | paxml"),
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    wait: bool = typer.Option(False, "--wait", help="Return when every event is queryable in ClickHouse"),
    timeout: float = typer.Option(300.0, help="With --wait: give up after this many seconds"),
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
    expected = _Expected(settings)
    sent: Counter[str] = Counter()
    errors: list[tuple[str, int, str]] = []
    started = time.monotonic()
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        for path in files:
            task = progress.add_task(path.name, total=path.stat().st_size)
            with path.open("rb") as handle:
                last = 0
                for item in parser(handle):
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


class _Expected:
    """Where each delivered event will be recorded in sink_watermarks: (table, topic, partition) -> offset."""

    def __init__(self, settings: Settings) -> None:
        from servicepulse.streams.sink import TABLES

        self._tables = {getattr(settings.kafka.topics, attr): spec for attr, spec in TABLES.items()}
        self.positions: dict[tuple[str, str, int], int] = {}
        self.failed: list[str] = []

    def callback(self, event: Event) -> Callable[[Any, Any], None]:
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
