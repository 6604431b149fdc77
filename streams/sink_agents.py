"""Faust wiring of the sinks: one agent per topic into its ClickHouse table; the logic lives in `sink.py`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import ThreadClients, dedup_token, insert_rows, read_watermarks
from servicepulse.connectors.serde import WireCodec

from .sink import TABLES, BatchResult, Message, TableSpec, decode_batch

__all__ = ["TableSink", "register"]

log = structlog.get_logger(__name__)

EXIT_SINK_FAILED = 70


class TableSink:
    """Writes one topic's batches to its table: dead letters out first, then one deduplicated insert."""

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

    def write(self, result: BatchResult) -> int:
        if result.skipped:
            log.info("replay guard skipped already-stored messages", table=self.spec.table, skipped=result.skipped)
        if result.rows:
            insert_rows(
                self._client(),
                self.spec.table,
                self.spec.columns,
                result.rows,
                token=dedup_token(self.spec.table, result.ranges),
                retries=self._settings.sink.insert_retries,
            )
        return len(result.rows)


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

    async def run(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch_max, within):
            messages = [
                Message(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value)
                for e in events
            ]
            try:
                result = await asyncio.to_thread(sink.prepare, messages)
                dead = result.dead_letters
                if dead:
                    futures = [
                        await dlq.send(key=d.key(), value=codec.encode(d)) for d in dead
                    ]
                    await asyncio.gather(*futures)
                    log.warning("dead letters", table=spec.table, count=len(dead), first=dead[0].reason)
                await asyncio.to_thread(sink.write, result)
            except Exception as exc:
                # take_events acks the batch in a `finally`, even when this body raises: leaving the
                # process here is the only way to keep offsets behind rows that were never written.
                log.critical("sink write failed; worker stops so the batch is redelivered",
                             table=spec.table, error=repr(exc))
                os._exit(EXIT_SINK_FAILED)

    app.agent(source, name=f"sink-{spec.table}")(run)
