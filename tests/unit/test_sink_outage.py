"""The sink while the store is down (it waits without limit unless fenced; a chunk in doubt is settled under its own
token), and the findings sink dropping ids already stored."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from clickhouse_connect.driver.exceptions import OperationalError

from servicepulse.config import Settings, SinkSettings
from servicepulse.connectors.clickhouse import dedup_token
from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.streams.fence import Fence, Fenced
from servicepulse.streams.sink import TABLES, Message, decode_batch, plan_writes
from servicepulse.streams.sink_agents import TableSink
from tests.factories.events import examples

CODEC = WireCodec(FileRegistry())
CALL = next(e for e in examples() if type(e).__name__ == "CallEvent")
SETTINGS = Settings(sink=SinkSettings(backoff_min_s=0.001, backoff_max_s=0.002))


class DownClient:
    """Fails `down` inserts with a connection error, then stores."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.inserts: list[tuple[int, str]] = []
        self.attempts = 0

    def create_insert_context(self, table: str, column_names: list[str]) -> SimpleNamespace:
        return SimpleNamespace(column_types=[None] * len(column_names))  # DESCRIBE TABLE, once per table

    def insert(self, table: str, rows: Sequence[Any], column_names: list[str], column_types: list[str],
               settings: dict[str, str], column_oriented: bool = False) -> None:
        rows = [list(r) for r in zip(*rows, strict=True)] if column_oriented else rows  # the sink's columns
        self.attempts += 1
        if self.attempts <= self.down:
            raise OperationalError("Error HTTPConnectionPool(host='127.0.0.1', port=1): Read timed out.")
        self.inserts.append((len(rows), settings["insert_deduplication_token"]))


def _batch(topic: str, offsets: range) -> list[Message]:
    value = CODEC.encode(CALL)
    return [Message(topic, 0, o, b"k", value) for o in offsets]


def test_a_store_outage_is_waited_out_without_limit() -> None:
    fence = Fence(stall_limit_s=60)
    fence.assign({("calls", 0)})
    sink = TableSink(TABLES["call_events"], SETTINGS, CODEC, fence)
    client = DownClient(down=40)  # far past the old bounded retries
    sink._client = lambda: client  # type: ignore[method-assign,assignment,return-value]  # a fake client
    result = decode_batch(sink.spec, CODEC, _batch("calls", range(5)), {})
    assert sink.write(result, lambda letters: None, fence.epoch) == 5
    assert client.attempts == 41 and len(client.inserts) == 1
    assert sink._health.outage_since is None and sink._health.last_insert_at is not None


def test_a_rebalance_ends_the_wait_and_leaves_the_chunk_in_doubt() -> None:
    fence = Fence(stall_limit_s=60)
    fence.assign({("calls", 0)})
    sink = TableSink(TABLES["call_events"], SETTINGS, CODEC, fence)
    client = DownClient(down=10**9)
    sink._client = lambda: client  # type: ignore[method-assign,assignment,return-value]
    ticket = fence.epoch
    result = decode_batch(sink.spec, CODEC, _batch("calls", range(5)), {})
    original = client.insert

    def insert(*args: Any, **kwargs: Any) -> None:
        if client.attempts == 3:
            fence.revoke_all()  # the group rebalances while the store is down
        original(*args, **kwargs)

    client.insert = insert  # type: ignore[method-assign]
    with pytest.raises(Fenced):
        sink.write(result, lambda letters: None, ticket)
    assert sink._in_doubt is not None and len(sink._in_doubt) == 5
    # The partition comes back and the store answers: the chunk in doubt goes in again under the same token
    # (a no-op if the store had applied it after all), before the redelivered batch is read.
    fence.assign({("calls", 0)})
    client.down = 0
    assert sink._settle_in_doubt({}, fence.epoch)
    assert client.inserts == [(5, dedup_token("call_events", [("calls", 0, 0, 4)]))] and sink._in_doubt is None
    # Once the store shows it stored (the watermark), a chunk in doubt is not inserted again.
    sink._in_doubt = [p for step in plan_writes(result) for p in step.rows]
    assert not sink._settle_in_doubt({("calls", 0): 4}, fence.epoch)
    assert len(client.inserts) == 1


class FindingsClient(DownClient):
    """Holds some finding ids already; answers the sink's id look-up like the store."""

    def __init__(self, stored: set[str]) -> None:
        super().__init__(down=0)
        self.stored = stored

    def query(self, sql: str, parameters: dict[str, Any]) -> Any:
        from types import SimpleNamespace

        assert "findings" in sql
        return SimpleNamespace(result_rows=[(i,) for i in parameters["ids"] if i in self.stored])


def test_findings_sink_drops_ids_already_stored_and_repeats_in_the_batch() -> None:
    finding = next(e for e in examples() if type(e).__name__ == "Finding")
    fence = Fence(stall_limit_s=60)
    fence.assign({("findings", 0)})
    sink = TableSink(TABLES["findings"], SETTINGS, CODEC, fence)
    client = FindingsClient(stored={"f-old"})
    sink._client = lambda: client  # type: ignore[method-assign,assignment,return-value]
    ids = ["f-old", "f-new", "f-new", "f-other"]  # produced at least once: the same id at two offsets
    messages = [Message("findings", 0, offset, b"k", CODEC.encode(finding.model_copy(update={"finding_id": i})))
                for offset, i in enumerate(ids)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("servicepulse.streams.sink_agents.read_watermarks", lambda client, table: {})
        result = sink.prepare(messages, fence.epoch)
    index = sink.spec.columns.index("finding_id")
    assert [r[index] for r in result.rows] == ["f-new", "f-other"]
    assert result.skipped == 2
