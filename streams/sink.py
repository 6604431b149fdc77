"""Turns a batch of Kafka messages into ClickHouse rows and dead letters; pure, no Kafka or ClickHouse here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from servicepulse.connectors.serde import DecodeError, WireCodec
from servicepulse.schemas.events import (
    Alert,
    CallEvent,
    CaseEvent,
    Complaint,
    DeadLetter,
    Event,
    Finding,
    InvoicePosting,
    PayLine,
    PayrollRun,
)

__all__ = [
    "META_COLUMNS",
    "TABLES",
    "BatchResult",
    "Message",
    "TableSpec",
    "dead_letter_for",
    "decode_batch",
]

META_COLUMNS = ("_topic", "_partition", "_offset")


@dataclass(frozen=True)
class Message:
    """The parts of a Kafka message the sink needs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class TableSpec:
    table: str
    model: type[Event]

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.model.model_fields, *META_COLUMNS)


TABLES: dict[str, TableSpec] = {
    spec.model.topic_attr: spec
    for spec in (
        TableSpec("call_events", CallEvent),
        TableSpec("invoice_postings", InvoicePosting),
        TableSpec("payroll_runs", PayrollRun),
        TableSpec("payroll_lines", PayLine),
        TableSpec("complaints", Complaint),
        TableSpec("findings", Finding),
        TableSpec("alerts", Alert),
        TableSpec("dead_letters", DeadLetter),
        TableSpec("cases", CaseEvent),
    )
}


@dataclass
class BatchResult:
    rows: list[list[Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    skipped: int = 0
    # (topic, partition, first offset, last offset) of the rows, for the deduplication token.
    ranges: list[tuple[str, int, int, int]] = field(default_factory=list)


def _value(v: Any) -> Any:
    return v.value if isinstance(v, StrEnum) else v


def dead_letter_for(msg: Message, error: DecodeError, stage: str, now: datetime | None = None) -> DeadLetter:
    return DeadLetter(
        source_topic=msg.topic,
        source_partition=msg.partition,
        source_offset=msg.offset,
        kind=error.kind,
        reason=error.reason,
        schema_id=error.schema_id,
        stage=stage,
        source_key=msg.key,
        payload=msg.value or b"",
        failed_at=now or datetime.now(UTC),
    )


def position(spec: TableSpec, msg: Message, event: Event) -> tuple[str, int, int]:
    """Where a row came from, for the replay guard; a dead letter counts at the rejected message's position."""
    if isinstance(event, DeadLetter) and event.source_partition >= 0:
        return event.source_topic, event.source_partition, event.source_offset
    return msg.topic, msg.partition, msg.offset


def decode_batch(
    spec: TableSpec,
    codec: WireCodec,
    messages: Iterable[Message],
    watermarks: dict[tuple[str, int], int],
    now: datetime | None = None,
) -> BatchResult:
    """Rows for every new, valid message; a dead letter for every bad one; skip what is at or below a watermark.

    Watermarks are advanced as rows are taken, so a message repeated inside one batch is also skipped.
    """
    result = BatchResult()
    marks = dict(watermarks)
    firsts: dict[tuple[str, int], int] = {}
    lasts: dict[tuple[str, int], int] = {}
    fields = tuple(spec.model.model_fields)
    for msg in messages:
        try:
            event = codec.decode(msg.value, spec.model)
        except DecodeError as exc:
            if msg.offset <= marks.get((msg.topic, msg.partition), -1):
                result.skipped += 1
                continue
            result.dead_letters.append(dead_letter_for(msg, exc, stage=f"sink:{spec.table}", now=now))
            continue
        topic, partition, offset = position(spec, msg, event)
        if offset <= marks.get((topic, partition), -1):
            result.skipped += 1
            continue
        marks[(topic, partition)] = offset
        firsts.setdefault((topic, partition), offset)
        lasts[(topic, partition)] = offset
        values = event.__dict__
        result.rows.append([_value(values[name]) for name in fields] + [topic, partition, offset])
    result.ranges = [(t, p, firsts[(t, p)], lasts[(t, p)]) for (t, p) in firsts]
    return result

