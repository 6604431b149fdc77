"""Turns a batch of Kafka messages into ClickHouse rows and dead letters; pure, no Kafka or ClickHouse here."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, TypeVar

from servicepulse.connectors.serde import DecodeError, WireCodec
from servicepulse.schemas.events import (
    Alert,
    CallEvent,
    CaseEvent,
    Complaint,
    DeadLetter,
    DeadLetterKind,
    Event,
    Finding,
    FindingReview,
    InvoicePosting,
    PayLine,
    PayrollRun,
    SampleReview,
)

from .sink_rows import row_maker

__all__ = [
    "META_COLUMNS",
    "TABLES",
    "BatchResult",
    "Message",
    "Pending",
    "Step",
    "TableSpec",
    "dead_letter_for",
    "decode_batch",
    "insert_isolating",
    "plan_writes",
    "ranges_of",
    "refused_dead_letter",
]

META_COLUMNS = ("_topic", "_partition", "_offset")
_DL_FIELDS = tuple(DeadLetter.model_fields)
_DL_TOPIC, _DL_PARTITION, _DL_OFFSET = (_DL_FIELDS.index(f) for f in ("source_topic", "source_partition",
                                                                      "source_offset"))


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
        TableSpec("finding_reviews", FindingReview),
        TableSpec("sample_reviews", SampleReview),
    )
}


@dataclass
class BatchResult:
    rows: list[list[Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    skipped: int = 0
    # (topic, partition, first offset, last offset) of the rows, for the deduplication token.
    ranges: list[tuple[str, int, int, int]] = field(default_factory=list)
    # The message each row came from (same order as `rows`), for a dead letter if the store refuses the row.
    sources: list[Message] = field(default_factory=list)


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
    model = spec.model
    fields = tuple(model.model_fields)
    maker = row_maker(model)
    # A dead letter's row stands at the rejected message's position (its source_* fields), not its own.
    positioned = model is DeadLetter
    rows, sources = result.rows, result.sources
    for msg in messages:
        try:
            datum, schema_id = codec.decode_datum(msg.value, model)
            # Checked without a pydantic object when the values are surely valid; pydantic decides otherwise.
            row = maker.row(datum)
            if row is None:
                values = codec.validate(datum, model, schema_id).__dict__
                row = [_value(values[name]) for name in fields]
        except DecodeError as exc:
            if msg.offset <= marks.get((msg.topic, msg.partition), -1):
                result.skipped += 1
                continue
            result.dead_letters.append(dead_letter_for(msg, exc, stage=f"sink:{spec.table}", now=now))
            continue
        if positioned and row[_DL_PARTITION] >= 0:
            where = (row[_DL_TOPIC], row[_DL_PARTITION])
            offset = row[_DL_OFFSET]
        else:
            where, offset = (msg.topic, msg.partition), msg.offset
        if offset <= marks.get(where, -1):
            result.skipped += 1
            continue
        marks[where] = offset
        if where not in firsts:
            firsts[where] = offset
        lasts[where] = offset
        row += (where[0], where[1], offset)
        rows.append(row)
        sources.append(msg)
    result.ranges = [(t, p, firsts[(t, p)], lasts[(t, p)]) for (t, p) in firsts]
    return result



# --------------------------------------------------------------------------- writing a batch in order


class Pending(NamedTuple):
    """One row waiting for its insert, with the message it came from (a tuple: one is built per row)."""

    row: list[Any]
    source: Message

    @property
    def position(self) -> tuple[str, int, int]:
        topic, partition, offset = self.row[-3:]
        return str(topic), int(partition), int(offset)


@dataclass(frozen=True)
class Step:
    """Either dead letters to send or rows to insert; a batch is written as a list of these, in order."""

    rows: list[Pending] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def _dead_position(letter: DeadLetter) -> tuple[str, int, int]:
    return letter.source_topic, letter.source_partition, letter.source_offset


def plan_writes(result: BatchResult) -> list[Step]:
    """The batch's rows and dead letters as steps in source-position order.

    The replay guard skips every offset at or below a partition's watermark, in the raw table and in
    `dead_letters` alike (a dead letter counts at the rejected message's position). So, per partition, a dead
    letter must be sent before any later row is inserted (or a crash in between loses it), and dead letters
    must reach their topic in offset order (or a later one's watermark hides an earlier one). Rows are
    ordered by position, and a run of rows is cut wherever a dead letter of the same partition falls inside
    it; without dead letters the batch is one step, one insert.
    """
    pending = sorted(map(Pending, result.rows, result.sources), key=_row_position)
    if not result.dead_letters:
        return [Step(rows=pending)] if pending else []  # the common case: one insert
    items: list[tuple[tuple[str, int, int], int, Pending | DeadLetter]] = [(p.position, 1, p) for p in pending]
    items += [(_dead_position(d), 0, d) for d in result.dead_letters]
    steps: list[Step] = []
    for _where, _order, item in sorted(items, key=lambda i: (i[0], i[1])):
        if isinstance(item, Pending):
            if not steps or not steps[-1].rows:
                steps.append(Step(rows=[]))
            steps[-1].rows.append(item)
        else:
            if not steps or not steps[-1].dead_letters:
                steps.append(Step(dead_letters=[]))
            steps[-1].dead_letters.append(item)
    return steps


def _row_position(p: Pending) -> tuple[Any, Any, Any]:
    row = p.row
    return row[-3], row[-2], row[-1]


def ranges_of(rows: Sequence[Pending]) -> list[tuple[str, int, int, int]]:
    """(topic, partition, first, last) of some rows: the exact offsets a (sub-)insert covers, for its token."""
    spans: dict[tuple[str, int], tuple[int, int]] = {}
    for p in rows:
        row = p.row
        where, offset = (row[-3], row[-2]), row[-1]
        span = spans.get(where)
        if span is None:
            spans[where] = (offset, offset)
        elif offset < span[0] or offset > span[1]:
            spans[where] = (min(span[0], offset), max(span[1], offset))
    return [(str(t), int(p), int(a), int(b)) for (t, p), (a, b) in spans.items()]


T = TypeVar("T")


def insert_isolating(
    items: Sequence[T],
    insert: Callable[[Sequence[T]], None],
    is_refusal: Callable[[Exception], bool],
    on_refused: Callable[[T, Exception], None],
) -> int:
    """Insert `items`; a chunk the store refuses for its content is halved until each refused item stands
    alone and goes to `on_refused`; any other error propagates. Chunks are inserted left to right, so with
    items in offset order no later row is stored before an earlier one is stored or refused. Returns the
    number of insert calls (1 when nothing is refused)."""
    calls = 0

    def attempt(chunk: Sequence[T]) -> None:
        nonlocal calls
        calls += 1
        try:
            insert(chunk)
        except Exception as exc:
            if not is_refusal(exc):
                raise
            if len(chunk) == 1:
                on_refused(chunk[0], exc)
                return
            middle = len(chunk) // 2
            attempt(chunk[:middle])
            attempt(chunk[middle:])

    if items:
        attempt(items)
    return calls


_HEADER = struct.Struct(">bI")


def refused_dead_letter(table: str, source: Message, reason: str, now: datetime | None = None) -> DeadLetter:
    """The dead letter of a message whose row the store refused: where it came from, the raw key and payload."""
    schema_id = None
    if source.value and len(source.value) >= _HEADER.size:
        magic, found = _HEADER.unpack_from(source.value)
        schema_id = found if magic == 0 else None
    return DeadLetter(
        source_topic=source.topic,
        source_partition=source.partition,
        source_offset=source.offset,
        kind=DeadLetterKind.refused,
        reason=reason,
        schema_id=schema_id,
        stage=f"sink:{table}",
        source_key=source.key,
        payload=source.value or b"",
        failed_at=now or datetime.now(UTC),
    )
