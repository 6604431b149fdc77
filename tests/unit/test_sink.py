"""The sink's pure part: rows, dead letters and the replay guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from servicepulse.connectors.clickhouse import dedup_token
from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.schemas.events import CallEvent, DeadLetter, DeadLetterKind
from servicepulse.streams.sink import TABLES, Message, decode_batch
from tests.factories.events import T0

CODEC = WireCodec(FileRegistry())
SPEC = TABLES["call_events"]


def call(i: int) -> CallEvent:
    return CallEvent(event_id=f"c{i}:offered", contact_id=f"c{i}", event_type="offered", channel="phone",
                     queue="kc-social", org="Kontaktcenter", occurred_at=T0 + timedelta(seconds=i))


def messages(n: int, partition: int = 0, start: int = 0) -> list[Message]:
    return [Message("call-events", partition, start + i, b"k", CODEC.encode(call(start + i))) for i in range(n)]


def test_rows_follow_table_columns_and_carry_their_position() -> None:
    result = decode_batch(SPEC, CODEC, messages(3), {})
    assert len(result.rows) == 3
    row = dict(zip(SPEC.columns, result.rows[2], strict=True))
    assert row["contact_id"] == "c2"
    assert row["event_type"] == "offered" and type(row["event_type"]) is str
    assert (row["_topic"], row["_partition"], row["_offset"]) == ("call-events", 0, 2)
    assert result.ranges == [("call-events", 0, 0, 2)]


def test_messages_at_or_below_the_watermark_are_skipped() -> None:
    result = decode_batch(SPEC, CODEC, messages(10), {("call-events", 0): 6})
    assert [r[-1] for r in result.rows] == [7, 8, 9]
    assert result.skipped == 7
    assert result.ranges == [("call-events", 0, 7, 9)]


def test_watermark_of_another_partition_does_not_apply() -> None:
    batch = messages(3, partition=0) + messages(3, partition=1)
    result = decode_batch(SPEC, CODEC, batch, {("call-events", 1): 10})
    assert [(r[-2], r[-1]) for r in result.rows] == [(0, 0), (0, 1), (0, 2)]


def test_a_message_repeated_inside_one_batch_counts_once() -> None:
    batch = messages(4) + messages(2, start=2)
    result = decode_batch(SPEC, CODEC, batch, {})
    assert [r[-1] for r in result.rows] == [0, 1, 2, 3]
    assert result.skipped == 2


def test_bad_messages_become_dead_letters_and_valid_ones_flow() -> None:
    batch = [*messages(2), Message("call-events", 0, 2, b"k", b"garbage"), *messages(2, start=3)]
    result = decode_batch(SPEC, CODEC, batch, {})
    assert [r[-1] for r in result.rows] == [0, 1, 3, 4]
    (letter,) = result.dead_letters
    assert (letter.source_topic, letter.source_partition, letter.source_offset) == ("call-events", 0, 2)
    assert letter.kind is DeadLetterKind.undecodable
    assert letter.payload == b"garbage"


def test_bad_message_below_watermark_is_not_dead_lettered_again() -> None:
    batch = [Message("call-events", 0, 2, b"k", b"garbage")]
    assert decode_batch(SPEC, CODEC, batch, {("call-events", 0): 5}).dead_letters == []


def test_dead_letter_rows_are_guarded_by_the_rejected_message_position() -> None:
    spec = TABLES["dead_letters"]
    letter = DeadLetter(source_topic="call-events", source_partition=3, source_offset=41, kind="undecodable",
                        reason="x", stage="sink", payload=b"", failed_at=datetime.now(UTC))
    msg = Message("dead-letters", 0, 900, b"k", CODEC.encode(letter))
    result = decode_batch(spec, CODEC, [msg, msg], {})
    assert len(result.rows) == 1
    assert result.rows[0][-3:] == ["call-events", 3, 41]
    assert decode_batch(spec, CODEC, [msg], {("call-events", 3): 41}).rows == []


def test_dedup_token_is_deterministic_and_order_free() -> None:
    a = dedup_token("call_events", [("t", 0, 1, 5), ("t", 1, 7, 9)])
    b = dedup_token("call_events", [("t", 1, 7, 9), ("t", 0, 1, 5)])
    assert a == b
    assert a != dedup_token("call_events", [("t", 0, 1, 6), ("t", 1, 7, 9)])
    assert a != dedup_token("invoice_postings", [("t", 0, 1, 5), ("t", 1, 7, 9)])


def test_every_table_spec_lists_model_fields_then_position() -> None:
    for spec in TABLES.values():
        assert spec.columns[-3:] == ("_topic", "_partition", "_offset")
        assert spec.columns[:-3] == tuple(spec.model.model_fields)
