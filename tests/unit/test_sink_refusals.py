"""Deterministic store refusals are isolated and dead-lettered; only transient failures are retried."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import (
    InsertFailure,
    backoff_s,
    classify_insert_error,
    dedup_token,
    insert_rows,
    refusal_reason,
)
from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.schemas.events import CallEvent, DeadLetter, DeadLetterKind
from servicepulse.streams.fence import Fence
from servicepulse.streams.sink import (
    TABLES,
    Message,
    Pending,
    decode_batch,
    insert_isolating,
    plan_writes,
    ranges_of,
    refused_dead_letter,
)
from servicepulse.streams.sink_agents import TableSink
from tests.factories.events import T0

CODEC = WireCodec(FileRegistry())
SPEC = TABLES["call_events"]


def server_error(code: int, name: str, text: str = "boom") -> DatabaseError:
    return DatabaseError(f"Received ClickHouse exception, code: {code}, server response: Code: {code}. "
                         f"DB::Exception: {text}. ({name}) (version 26.9.2.1) (for url http://127.0.0.1:1)")


def client_data_error() -> DataError:
    try:
        try:
            struct.pack("<H", -25567)
        except struct.error as exc:
            raise DataError("Unable to create native array for column `posting_date`: error") from exc
    except DataError as err:
        return err
    raise AssertionError


# --------------------------------------------------------------------------- classification


@pytest.mark.parametrize("code,name", [
    (321, "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"), (53, "TYPE_MISMATCH"), (6, "CANNOT_PARSE_TEXT"),
    (27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED"), (41, "CANNOT_PARSE_DATETIME"), (62, "SYNTAX_ERROR"),
    (69, "ARGUMENT_OUT_OF_BOUND"), (70, "CANNOT_CONVERT_TYPE"), (190, "SIZES_OF_ARRAYS_DONT_MATCH"),
    (469, "VIOLATED_CONSTRAINT"), (407, "DECIMAL_OVERFLOW"),
])
def test_value_errors_of_the_server_are_refusals(code: int, name: str) -> None:
    assert classify_insert_error(server_error(code, name)) is InsertFailure.refused


@pytest.mark.parametrize("code,name", [
    (159, "TIMEOUT_EXCEEDED"), (202, "TOO_MANY_SIMULTANEOUS_QUERIES"), (203, "NO_FREE_CONNECTION"),
    (209, "SOCKET_TIMEOUT"), (210, "NETWORK_ERROR"), (241, "MEMORY_LIMIT_EXCEEDED"), (252, "TOO_MANY_PARTS"),
    (319, "UNKNOWN_STATUS_OF_INSERT"), (999, "KEEPER_EXCEPTION"), (12345, "SOMETHING_NEW"),
])
def test_load_and_network_errors_of_the_server_are_transient(code: int, name: str) -> None:
    assert classify_insert_error(server_error(code, name)) is InsertFailure.transient


@pytest.mark.parametrize("code,name", [(60, "UNKNOWN_TABLE"), (16, "NO_SUCH_COLUMN_IN_TABLE"),
                                       (497, "ACCESS_DENIED"), (516, "AUTHENTICATION_FAILED"), (164, "READONLY")])
def test_errors_that_every_row_would_meet_are_setup_errors(code: int, name: str) -> None:
    assert classify_insert_error(server_error(code, name)) is InsertFailure.setup


def test_the_code_attribute_wins_over_the_text() -> None:
    assert classify_insert_error(DatabaseError("whatever", code=321)) is InsertFailure.refused


@pytest.mark.parametrize("exc", [
    OperationalError("Error HTTPConnectionPool(host='127.0.0.1', port=8123): Max retries exceeded "
                     "([Errno 111] Connection refused)"),
    ConnectionResetError(104, "Connection reset by peer"), TimeoutError("timed out"), OSError("broken pipe"),
])
def test_no_answer_from_the_store_is_transient(exc: Exception) -> None:
    assert classify_insert_error(exc) is InsertFailure.transient


@pytest.mark.parametrize("exc", [client_data_error(), OverflowError("int too big to convert"),
                                 struct.error("argument out of range"), TypeError("bad value")])
def test_values_the_client_cannot_serialise_are_refusals(exc: Exception) -> None:
    assert classify_insert_error(exc) is InsertFailure.refused


def test_reason_keeps_the_message_and_drops_the_values() -> None:
    exc = server_error(469, "VIOLATED_CONSTRAINT",
                       "Constraint `no_poison` for table db.call_events (abc) is violated at row 1. "
                       "Expression: (queue != 'poison'). Column values: queue = 'Anna Andersson 19121212-1212'")
    reason = refusal_reason(exc)
    assert "Code: 469" in reason and "VIOLATED_CONSTRAINT" in reason and "no_poison" in reason
    assert "Anna" not in reason and "1212" not in reason and "poison'" not in reason
    assert "version" not in reason and "http://" not in reason
    assert "19121212" not in refusal_reason(server_error(6, "CANNOT_PARSE_TEXT", "Cannot parse 191212121212"))
    client = refusal_reason(client_data_error())
    assert "posting_date" in client and "ushort" in client


def test_backoff_is_exponential_and_capped() -> None:
    assert [backoff_s(a) for a in range(1, 7)] == [0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


# --------------------------------------------------------------------------- insert_rows


class FakeClient:
    def __init__(self, failures: Sequence[Exception] = ()) -> None:
        self.failures = list(failures)
        self.inserts: list[tuple[list[Any], str]] = []
        self.described: list[str] = []  # the DESCRIBE round trips: one per table until an insert fails

    def create_insert_context(self, table: str, column_names: list[str]) -> SimpleNamespace:
        self.described.append(table)
        return SimpleNamespace(column_types=[f"type of {name} #{len(self.described)}" for name in column_names])

    def insert(self, table: str, rows: Sequence[Any], column_names: list[str], column_types: list[str],
               settings: dict[str, str], column_oriented: bool = False) -> None:
        assert len(column_types) == len(column_names)
        rows = [list(r) for r in zip(*rows, strict=True)] if column_oriented else rows  # the sink's columns
        if self.failures:
            raise self.failures.pop(0)
        self.inserts.append((list(rows), settings["insert_deduplication_token"]))


def test_transient_errors_are_retried_with_backoff() -> None:
    client = FakeClient([server_error(159, "TIMEOUT_EXCEEDED"), OperationalError("connection refused")])
    slept: list[float] = []
    insert_rows(client, "t", ["a"], [[1]], token="x", retries=5, sleep=slept.append)  # type: ignore[arg-type]
    assert slept == [0.4, 0.8] and client.inserts == [([[1]], "x")]


def test_column_types_are_read_once_and_again_after_a_failure() -> None:
    client = FakeClient()
    for token in ("a", "b", "c"):
        insert_rows(client, "t", ["a"], [[1]], token=token)  # type: ignore[arg-type]
    insert_rows(client, "u", ["a"], [[1]], token="d")  # type: ignore[arg-type]
    assert client.described == ["t", "u"] and len(client.inserts) == 4
    # A failed insert may mean the schema changed under the process: the retry reads the types again.
    client.failures = [server_error(159, "TIMEOUT_EXCEEDED")]
    insert_rows(client, "t", ["a"], [[1]], token="e", sleep=lambda _s: None)  # type: ignore[arg-type]
    assert client.described == ["t", "u", "t"] and len(client.inserts) == 5
    client.failures = [server_error(53, "TYPE_MISMATCH")]
    with pytest.raises(DatabaseError):
        insert_rows(client, "t", ["a"], [[1]], token="f")  # type: ignore[arg-type]
    insert_rows(client, "t", ["a"], [[1]], token="f")  # type: ignore[arg-type]
    assert client.described == ["t", "u", "t", "t"]


def test_transient_errors_past_the_retries_are_raised() -> None:
    client = FakeClient([OperationalError("down")] * 3)
    with pytest.raises(OperationalError):
        insert_rows(client, "t", ["a"], [[1]], token="x", retries=2, sleep=lambda _s: None)  # type: ignore[arg-type]


@pytest.mark.parametrize("exc", [server_error(321, "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"), client_data_error(),
                                 server_error(60, "UNKNOWN_TABLE")])
def test_refusals_and_setup_errors_are_never_retried(exc: Exception) -> None:
    slept: list[float] = []
    with pytest.raises(type(exc)):
        insert_rows(FakeClient([exc]), "t", ["a"], [[1]], token="x", sleep=slept.append)  # type: ignore[arg-type]
    assert slept == []


# --------------------------------------------------------------------------- bisection


class Store:
    """Refuses every chunk holding a poisoned item; records accepted chunks in order."""

    def __init__(self, poison: set[int], error: Exception | None = None) -> None:
        self.poison = poison
        self.error = error or server_error(321, "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE")
        self.accepted: list[list[int]] = []
        self.calls = 0

    def insert(self, chunk: Sequence[int]) -> None:
        self.calls += 1
        if self.poison & set(chunk):
            raise self.error
        self.accepted.append(list(chunk))


def isolate(items: list[int], store: Store) -> list[int]:
    refused: list[int] = []
    insert_isolating(items, store.insert, lambda e: classify_insert_error(e) is InsertFailure.refused,
                     lambda item, _exc: refused.append(item))
    return refused


def test_a_clean_batch_is_one_insert() -> None:
    store = Store(set())
    assert isolate(list(range(100)), store) == [] and store.accepted == [list(range(100))]


@pytest.mark.parametrize("poison", [{0}, {99}, {37}, {3, 4, 5}, {0, 50, 99}, set(range(0, 100, 7)),
                                    set(range(100))])
def test_refused_items_are_isolated_and_the_rest_goes_in_in_order(poison: set[int]) -> None:
    store = Store(poison)
    refused = isolate(list(range(100)), store)
    assert refused == sorted(poison)
    stored = [i for chunk in store.accepted for i in chunk]
    assert stored == [i for i in range(100) if i not in poison]  # every other item once, in order
    # Interleaving: nothing after a refused item was stored before it was reported.
    order = [i for chunk in store.accepted for i in chunk] + refused
    assert sorted(order) == list(range(100))


def test_one_poison_costs_a_logarithmic_number_of_inserts() -> None:
    store = Store({600})
    isolate(list(range(1000)), store)
    assert store.calls <= 2 * 10 + 1


def test_refusals_are_reported_before_later_items_are_inserted() -> None:
    log: list[str] = []
    store = Store({2, 5})

    def insert(chunk: Sequence[int]) -> None:
        store.insert(chunk)
        log.append(f"insert {chunk[0]}-{chunk[-1]}")

    insert_isolating(list(range(8)), insert, lambda e: True, lambda item, _e: log.append(f"refused {item}"))
    positions = [int(entry.split()[1].split("-")[0]) for entry in log]
    assert positions == sorted(positions)


def test_a_transient_error_inside_the_bisection_propagates() -> None:
    with pytest.raises(OperationalError):
        isolate(list(range(10)), Store({3}, OperationalError("down")))


# --------------------------------------------------------------------------- planning a batch


def call(i: int) -> CallEvent:
    return CallEvent(event_id=f"c{i}:offered", contact_id=f"c{i}", event_type="offered", channel="phone",
                     queue="kc-social", org="Kontaktcenter", occurred_at=T0 + timedelta(seconds=i))


def msg(partition: int, offset: int, value: bytes | None = None) -> Message:
    return Message("call-events", partition, offset, b"k", value if value is not None else CODEC.encode(call(offset)))


def test_a_batch_without_dead_letters_is_one_insert_step_with_the_old_token() -> None:
    batch = [msg(0, 0), msg(1, 0), msg(0, 1), msg(1, 1)]
    result = decode_batch(SPEC, CODEC, batch, {})
    (step,) = plan_writes(result)
    assert [p.position for p in step.rows] == [("call-events", 0, 0), ("call-events", 0, 1),
                                               ("call-events", 1, 0), ("call-events", 1, 1)]
    assert dedup_token("call_events", ranges_of(step.rows)) == dedup_token("call_events", result.ranges)


def test_dead_letters_are_sent_before_later_rows_of_their_partition() -> None:
    batch = [msg(0, 0), msg(1, 0), msg(0, 1, b"garbage"), msg(1, 1), msg(0, 2), msg(1, 2, b"bad")]
    steps = plan_writes(decode_batch(SPEC, CODEC, batch, {}))
    shape = [("dead" if s.dead_letters else "rows",
              [(d.source_partition, d.source_offset) for d in s.dead_letters]
              or [p.position[1:] for p in s.rows]) for s in steps]
    assert shape == [("rows", [(0, 0)]), ("dead", [(0, 1)]), ("rows", [(0, 2), (1, 0), (1, 1)]),
                     ("dead", [(1, 2)])]


def test_sub_batch_tokens_name_their_exact_offsets() -> None:
    rows = [Pending([None, "call-events", 0, o], msg(0, o)) for o in (3, 4, 9)]
    assert ranges_of(rows) == [("call-events", 0, 3, 9)]
    assert dedup_token("call_events", ranges_of(rows[:2])) != dedup_token("call_events", ranges_of(rows))


def test_refused_dead_letter_keeps_position_key_payload_and_schema_id() -> None:
    source = msg(2, 41)
    letter = refused_dead_letter("call_events", source, "store refused the row: Code: 321")
    assert (letter.kind, letter.source_topic, letter.source_partition, letter.source_offset) == (
        DeadLetterKind.refused, "call-events", 2, 41)
    assert letter.payload == source.value and letter.source_key == b"k"
    assert letter.schema_id == FileRegistry().id_for(CallEvent) and letter.stage == "sink:call_events"


# --------------------------------------------------------------------------- the table sink, end to end in memory


class RefusingClient(FakeClient):
    """Refuses, like the store, any insert holding a row of a poisoned offset."""

    def __init__(self, poison: set[int]) -> None:
        super().__init__()
        self.poison = poison

    def insert(self, table: str, rows: Sequence[Any], column_names: list[str], column_types: list[str],
               settings: dict[str, str], column_oriented: bool = False) -> None:
        rows = [list(r) for r in zip(*rows, strict=True)] if column_oriented else rows  # the sink's columns
        if self.poison & {r[-1] for r in rows}:
            raise server_error(321, "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", "Value 'x' is out of range")
        self.inserts.append((list(rows), settings["insert_deduplication_token"]))


def test_table_sink_stores_the_valid_rows_and_dead_letters_the_refused_ones_in_order() -> None:
    fence = Fence(stall_limit_s=60)
    fence.assign({(m.topic, m.partition) for m in [msg(0, 0)]})
    sink = TableSink(SPEC, Settings(), CODEC, fence)
    client = RefusingClient({2, 5})
    sink._client = lambda: client  # type: ignore[method-assign,assignment,return-value]  # a fake client
    batch = [msg(0, o) for o in range(4)] + [msg(0, 4, b"garbage")] + [msg(0, o) for o in range(5, 8)]
    events: list[str] = []
    sent: list[DeadLetter] = []

    def send_dead(letters: list[DeadLetter]) -> None:
        sent.extend(letters)
        events.extend(f"dead {d.source_offset}" for d in letters)

    original = client.insert

    def insert(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        offsets = args[1][-1] if kwargs.get("column_oriented") else [r[-1] for r in args[1]]  # the _offset column
        events.append(f"rows {offsets[0]}-{offsets[-1]}")

    client.insert = insert  # type: ignore[method-assign]
    stored = sink.write(decode_batch(SPEC, CODEC, batch, {}), send_dead, fence.epoch)
    assert stored == 5
    assert sorted(r[-1] for rows, _ in client.inserts for r in rows) == [0, 1, 3, 6, 7]
    assert [(d.kind, d.source_offset) for d in sent] == [
        (DeadLetterKind.refused, 2), (DeadLetterKind.undecodable, 4), (DeadLetterKind.refused, 5)]
    assert "'x'" not in sent[0].reason and "Code: 321" in sent[0].reason
    firsts = [int(e.split()[1].split("-")[0]) for e in events]
    assert firsts == sorted(firsts)  # every dead letter out before any later row went in
    tokens = [t for _, t in client.inserts]
    assert len(set(tokens)) == len(tokens)
