"""The sink process's watermark cache: read once per assignment, advanced by what it writes, dropped on a rebalance."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from servicepulse.config import Settings
from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.streams.fence import Fence
from servicepulse.streams.sink import TABLES, Message
from servicepulse.streams.sink_agents import TableSink
from tests.factories.events import examples

CODEC = WireCodec(FileRegistry())
CALL = next(e for e in examples() if type(e).__name__ == "CallEvent")


class Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class Store:
    """Keeps the inserted offsets and answers the watermark query from them."""

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.watermark_reads = 0

    def query(self, sql: str, parameters: dict[str, Any]) -> Result:
        assert "sink_watermarks" in sql
        self.watermark_reads += 1
        return Result([("calls", 0, max(self.offsets))] if self.offsets else [])

    def create_insert_context(self, table: str, column_names: list[str]) -> SimpleNamespace:
        return SimpleNamespace(column_types=[None] * len(column_names))  # DESCRIBE TABLE, once per table

    def insert(self, table: str, data: Sequence[Any], column_names: list[str], column_types: list[str],
               settings: dict[str, str], column_oriented: bool = False) -> None:
        assert column_oriented
        self.offsets.extend(data[-1])  # the _offset column


def _batch(offsets: range) -> list[Message]:
    value = CODEC.encode(CALL)
    return [Message("calls", 0, o, b"k", value) for o in offsets]


def _sink(fence: Fence, store: Store, cache: bool) -> TableSink:
    sink = TableSink(TABLES["call_events"], Settings(), CODEC, fence, cache_watermarks=cache)
    sink._client = lambda: store  # type: ignore[method-assign,assignment,return-value]  # a fake client
    return sink


def _run(sink: TableSink, fence: Fence, offsets: range) -> int:
    ticket = fence.epoch
    return sink.write(sink.prepare(_batch(offsets), ticket), lambda letters: None, ticket)


def test_the_cache_is_read_once_per_assignment_and_still_skips_replays() -> None:
    fence = Fence(stall_limit_s=60)
    fence.assign({("calls", 0)})
    store = Store()
    sink = _sink(fence, store, cache=True)
    assert _run(sink, fence, range(0, 5)) == 5
    assert _run(sink, fence, range(5, 10)) == 5
    assert _run(sink, fence, range(3, 12)) == 2  # a replay inside the same assignment: 3..9 skipped from the cache
    assert store.watermark_reads == 1
    fence.revoke_all()
    fence.assign({("calls", 0)})
    store.offsets.extend(range(12, 20))  # another owner stored these meanwhile
    assert _run(sink, fence, range(10, 22)) == 2  # a new assignment reads the store again
    assert store.watermark_reads == 2
    assert sorted(store.offsets) == list(range(22))


def test_without_the_cache_every_batch_reads_the_store() -> None:
    fence = Fence(stall_limit_s=60)
    fence.assign({("calls", 0)})
    store = Store()
    sink = _sink(fence, store, cache=False)
    _run(sink, fence, range(0, 5))
    _run(sink, fence, range(5, 10))
    assert store.watermark_reads == 2
