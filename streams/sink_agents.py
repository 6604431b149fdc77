"""Faust wiring of the sinks: one agent per topic into its ClickHouse table; the logic lives in `sink.py`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from typing import Any

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import (
    InsertFailure,
    ThreadClients,
    classify_insert_error,
    dedup_token,
    insert_rows,
    read_watermarks,
    refusal_reason,
)
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import DeadLetter

from .batches import take_events
from .sink import (
    TABLES,
    BatchResult,
    Message,
    Pending,
    TableSpec,
    decode_batch,
    insert_isolating,
    plan_writes,
    ranges_of,
    refused_dead_letter,
)

__all__ = ["TableSink", "register"]

log = structlog.get_logger(__name__)

EXIT_SINK_FAILED = 70
# Longest wait for the broker to acknowledge dead letters sent from the insert thread.
DEAD_LETTER_SEND_TIMEOUT_S = 120.0

SendDead = Callable[[list[DeadLetter]], None]


def _is_refusal(exc: Exception) -> bool:
    return classify_insert_error(exc) is InsertFailure.refused


class TableSink:
    """Writes one topic's batches to its table in source order: dead letters out before any later row, rows in
    deduplicated inserts, rows the store refuses isolated and dead-lettered while the rest goes in."""

    def __init__(self, spec: TableSpec, settings: Settings, codec: WireCodec) -> None:
        self.spec = spec
        self._settings = settings
        self._codec = codec
        self._clients = ThreadClients(settings.clickhouse)

    def _client(self) -> Client:
        return self._clients.get()

    def prepare(self, messages: Sequence[Message]) -> BatchResult:
        watermarks = read_watermarks(self._client(), self.spec.table)
        return decode_batch(self.spec, self._codec, messages, watermarks)

    def _insert(self, chunk: Sequence[Pending]) -> None:
        # The token names the chunk's exact offsets, so a retried or replayed sub-insert is the same insert.
        insert_rows(
            self._client(),
            self.spec.table,
            self.spec.columns,
            [p.row for p in chunk],
            token=dedup_token(self.spec.table, ranges_of(chunk)),
            retries=self._settings.sink.insert_retries,
        )

    def write(self, result: BatchResult, send_dead: SendDead) -> int:
        """Runs in a worker thread; `send_dead` blocks until the dead letters are acknowledged. Returns the
        rows stored. Raises only what the store may still accept later, or a setup error."""
        if result.skipped:
            log.info("replay guard skipped already-stored messages", table=self.spec.table, skipped=result.skipped)
        refused: list[Pending] = []

        def on_refused(item: Pending, exc: Exception) -> None:
            refused.append(item)
            reason = f"store refused the row: {refusal_reason(exc)}"
            topic, partition, offset = item.position
            log.warning("row refused by the store", table=self.spec.table, topic=topic, partition=partition,
                        offset=offset, reason=reason)
            if self.spec.table == "dead_letters":
                # Sending it to the dead-letter topic again would bring it back here, forever.
                log.error("dead letter refused by the store, dropped", topic=topic, partition=partition,
                          offset=offset, reason=reason)
                return
            send_dead([refused_dead_letter(self.spec.table, item.source, reason)])

        stored = 0
        for step in plan_writes(result):
            if step.dead_letters:
                send_dead(step.dead_letters)
                continue
            before = len(refused)
            calls = insert_isolating(step.rows, self._insert, _is_refusal, on_refused)
            stored += len(step.rows) - (len(refused) - before)
            if calls > 1:
                log.info("batch split to isolate refused rows", table=self.spec.table, rows=len(step.rows),
                         refused=len(refused) - before, inserts=calls)
        return stored


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    dlq = app.topic(topics.dead_letters, key_type=bytes, value_type=bytes)
    for attr, spec in TABLES.items():
        _register_sink(app, settings, codec, getattr(topics, attr), spec, dlq)


def _register_sink(
    app: faust.App, settings: Settings, codec: WireCodec, topic_name: str, spec: TableSpec, dlq: faust.TopicT
) -> None:
    sink = TableSink(spec, settings, codec)
    source = app.topic(topic_name, key_type=bytes, value_type=bytes)
    batch_max = settings.sink.batch_max
    within = settings.sink.batch_within_s

    async def send(letters: list[DeadLetter]) -> None:
        futures = [await dlq.send(key=d.key(), value=codec.encode(d)) for d in letters]
        await asyncio.gather(*futures)
        log.warning("dead letters", table=spec.table, count=len(letters), first=letters[0].reason)

    async def run(stream: faust.StreamT[Any]) -> None:
        loop = asyncio.get_running_loop()

        def send_dead(letters: list[DeadLetter]) -> None:
            # Called from the insert thread: the event loop is free while the agent awaits that thread.
            asyncio.run_coroutine_threadsafe(send(letters), loop).result(timeout=DEAD_LETTER_SEND_TIMEOUT_S)

        async for events in take_events(stream, batch_max, within):
            messages = [
                Message(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value)
                for e in events
            ]
            try:
                result = await asyncio.to_thread(sink.prepare, messages)
                await asyncio.to_thread(sink.write, result, send_dead)
            except Exception as exc:
                # Rows the store refuses never get here (they are dead letters); what does is the store
                # unreachable past the retries, a setup error, or the dead-letter topic not answering.
                # take_events acks the batch in a `finally`, even when this body raises: leaving the
                # process here is the only way to keep offsets behind rows that were never written.
                kind = classify_insert_error(exc)
                log.critical("sink write failed; worker stops so the batch is redelivered",
                             table=spec.table, failure=kind.value, error=refusal_reason(exc))
                os._exit(EXIT_SINK_FAILED)

    app.agent(source, name=f"sink-{spec.table}")(run)
