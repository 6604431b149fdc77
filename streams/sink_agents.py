"""Faust wiring of the sinks: one agent per topic into its ClickHouse table; the logic lives in `sink.py`."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import (
    InsertFailure,
    ThreadClients,
    backoff_s,
    classify_insert_error,
    dedup_token,
    insert_rows,
    read_watermarks,
    refusal_reason,
)
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import DeadLetter

from .batches import take_events
from .fence import Fence, Fenced, fence_of, unrecorded
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

__all__ = ["Health", "TableSink", "register", "write_health"]

log = structlog.get_logger(__name__)

EXIT_SINK_FAILED = 70
# Longest wait for the broker to acknowledge dead letters sent from the insert thread.
DEAD_LETTER_SEND_TIMEOUT_S = 120.0

SendDead = Callable[[list[DeadLetter]], None]
R = TypeVar("R")


def _is_refusal(exc: Exception) -> bool:
    return classify_insert_error(exc) is InsertFailure.refused


class Health:
    """What a worker's health check reports: the last successful write, the store outage under way (if any)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.last_insert_at: float | None = None
        self.outage_since: float | None = None
        self.outage_error: str | None = None
        self.outage_attempts = 0

    def ok(self) -> None:
        with self._lock:
            if self.outage_since is not None:
                log.warning("store answers again; writes resume", outage_s=round(time.time() - self.outage_since, 1),
                            attempts=self.outage_attempts)
            self.last_insert_at = time.time()
            self.outage_since = None
            self.outage_error = None
            self.outage_attempts = 0

    def failed(self, error: str, tried_at: float) -> float:
        """Record a transient failure of a call made at `tried_at`; returns how long the outage has lasted."""
        with self._lock:
            now = time.time()
            if self.outage_since is None:
                self.outage_since = tried_at
            self.outage_error = error
            self.outage_attempts += 1
            return now - self.outage_since

    def document(self, worker: int, fence: Fence) -> dict[str, Any]:
        with self._lock:
            now = time.time()
            return {
                "worker": worker,
                "pid": os.getpid(),
                "updated_at": now,
                "status": "waiting for the store" if self.outage_since is not None else "ok",
                "last_insert_at": self.last_insert_at,
                "outage_since": self.outage_since,
                "outage_s": None if self.outage_since is None else round(now - self.outage_since, 1),
                "outage_error": self.outage_error,
                "outage_attempts": self.outage_attempts,
                "partitions": len(fence.assigned),
                "rebalance_epoch": fence.epoch,
            }


def write_health(path: Path, document: dict[str, Any]) -> None:
    """Replace the health file atomically, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
    tmp.replace(path)


# Tables whose rows rule agents produce at least once: the same id may arrive twice at different offsets.
ID_COLUMNS = {"findings": "finding_id", "alerts": "alert_id"}


def _fenced_partitions(rows: Sequence[Pending]) -> set[tuple[str, int]]:
    """The Kafka partitions the rows were read from: what the fence guards. Not the rows' positions, which for
    a dead letter are the rejected message's (another topic)."""
    return {(p.source.topic, p.source.partition) for p in rows}


class TableSink:
    """Writes one topic's batches to its table in source order: dead letters out before any later row, rows in
    deduplicated inserts, rows the store refuses isolated and dead-lettered while the rest goes in. While the
    store is unreachable it waits (backing off, without limit); it stops only when the fence says the batch's
    partitions have moved on."""

    def __init__(self, spec: TableSpec, settings: Settings, codec: WireCodec, fence: Fence,
                 health: Health | None = None, wait: Callable[[int, float], None] | None = None,
                 cache_watermarks: bool = False) -> None:
        self.spec = spec
        # The sink process keeps the watermarks it read and wrote while its assignment (the ticket) stands: no
        # other writer adds rows for partitions it holds, so the cache is never above the store's (it may only
        # skip less), and a rebalance drops it. Not for `dead_letters`, whose positions are other topics'.
        self._cache_marks = cache_watermarks and spec.table != "dead_letters"
        self._marks: tuple[int, dict[tuple[str, int], int]] | None = None
        # How a retry waits: by default on the fence; the sink process also serves its consumer meanwhile.
        self._wait = wait or fence.wait
        self._settings = settings
        self._codec = codec
        self._clients = ThreadClients(settings.clickhouse)
        self._fence = fence
        self._health = health or Health()
        # The chunk being retried when the fence closed: its outcome is unknown (the store may still apply a
        # request its client gave up on), so it is settled, under its own token, before anything else is written.
        self._in_doubt: list[Pending] | None = None

    def _client(self) -> Client:
        return self._clients.get()

    def _retrying(self, what: str, call: Callable[[], R], ticket: int, partitions: set[tuple[str, int]]) -> R:
        """`call` until it succeeds; transient failures back off exponentially (capped) without limit, each
        logged with the outage so far. Raises Fenced when the partitions move on, other failures at once."""
        conf = self._settings.sink
        attempt = 0
        while True:
            self._fence.check(ticket, partitions)
            tried_at = time.time()
            try:
                value = call()
            except Exception as exc:
                if classify_insert_error(exc) is not InsertFailure.transient:
                    raise
                attempt += 1
                # A frozen store fails a call only at the client's timeout: the outage began when the call did.
                outage = self._health.failed(refusal_reason(exc), tried_at)
                delay = backoff_s(attempt, conf.backoff_min_s, conf.backoff_max_s)
                log.warning("store unavailable; the batch waits (nothing acked, nothing lost)", table=self.spec.table,
                            step=what, attempt=attempt, outage_s=round(outage, 1), retry_in_s=delay,
                            error=refusal_reason(exc))
                self._wait(ticket, delay)
                continue
            return value

    def prepare(self, messages: Sequence[Message], ticket: int) -> BatchResult:
        parts = {(m.topic, m.partition) for m in messages}
        client = self._client
        table = self.spec.table
        if self._marks is not None and self._marks[0] == ticket and self._in_doubt is None:
            watermarks = self._marks[1]
        else:
            self._marks = None
            watermarks = self._retrying("read watermarks", lambda: read_watermarks(client(), table), ticket, parts)
            if self._in_doubt is not None and self._settle_in_doubt(watermarks, ticket):
                watermarks = self._retrying("read watermarks", lambda: read_watermarks(client(), table), ticket,
                                            parts)
        if self._cache_marks:
            self._marks = (ticket, watermarks)
        result = decode_batch(self.spec, self._codec, messages, watermarks)
        id_column = ID_COLUMNS.get(table)
        if id_column is not None and result.rows:
            self._drop_stored_ids(result, id_column, ticket, parts)
        return result

    def _settle_in_doubt(self, watermarks: dict[tuple[str, int], int], ticket: int) -> bool:
        """Insert the in-doubt chunk again under its token (a no-op if the store applied it after all) when none of
        it is stored yet and its partitions are still here. Returns whether it was inserted."""
        chunk, self._in_doubt = self._in_doubt or [], None
        spans = ranges_of(chunk)
        if not self._fence.allows(ticket, _fenced_partitions(chunk)):
            log.warning("an insert in doubt belongs to partitions now owned elsewhere", table=self.spec.table,
                        ranges=spans)
            return False
        if all(watermarks.get((t, p), -1) >= b for t, p, _a, b in spans):
            return False  # it landed
        if any(watermarks.get((t, p), -1) >= a for t, p, a, _b in spans):
            log.warning("an insert in doubt is partly stored; left to the replay guard", table=self.spec.table,
                        ranges=spans)
            return False
        try:
            self._insert(chunk, ticket)
        except Fenced:
            self._in_doubt = chunk
            raise
        except Exception as exc:
            log.warning("an insert in doubt could not be settled; left to the replay guard", table=self.spec.table,
                        error=refusal_reason(exc))
            return False
        log.info("insert in doubt settled under its own token", table=self.spec.table, rows=len(chunk))
        return True

    def _drop_stored_ids(self, result: BatchResult, column: str, ticket: int, parts: set[tuple[str, int]]) -> None:
        """Findings and alerts are produced at least once: drop the ids already stored, and repeats in the batch.
        Safe as check-then-insert because one key lives in one partition, written by one fenced sink at a time."""
        index = self.spec.columns.index(column)
        ids = sorted({str(row[index]) for row in result.rows})
        table = self.spec.table

        def stored() -> set[str]:
            found = self._client().query(
                f"SELECT DISTINCT {column} FROM {table} WHERE {column} IN {{ids:Array(String)}}",
                parameters={"ids": ids},
            )
            return {str(r[0]) for r in found.result_rows}

        seen = self._retrying("read stored ids", stored, ticket, parts)
        rows, sources = [], []
        for row, source in zip(result.rows, result.sources, strict=True):
            key = str(row[index])
            if key in seen:
                result.skipped += 1
                continue
            seen.add(key)
            rows.append(row)
            sources.append(source)
        result.rows, result.sources = rows, sources
        result.ranges = ranges_of([Pending(r, s) for r, s in zip(rows, sources, strict=True)])

    def _insert(self, chunk: Sequence[Pending], ticket: int) -> None:
        # The token names the chunk's exact offsets, so a retried or replayed sub-insert is the same insert.
        token = dedup_token(self.spec.table, ranges_of(chunk))
        # Column-oriented: clickhouse-connect serialises each column in one pass instead of walking the rows.
        columns = list(zip(*(p.row for p in chunk), strict=True))
        parts = _fenced_partitions(chunk)

        def insert() -> None:
            insert_rows(self._client(), self.spec.table, self.spec.columns, columns, token=token, retries=0,
                        column_oriented=True)

        try:
            self._retrying("insert", insert, ticket, parts)
        except Fenced:
            self._in_doubt = list(chunk)
            raise
        self._health.ok()

    def write(self, result: BatchResult, send_dead: SendDead, ticket: int) -> int:
        """Runs in a worker thread; `send_dead` blocks until the dead letters are acknowledged. Returns the
        rows stored. Raises Fenced when the batch's partitions moved on, or a setup error."""
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
            self._fence.check(ticket, _fenced_partitions([item]))
            send_dead([refused_dead_letter(self.spec.table, item.source, reason)])

        marks, self._marks = self._marks, None  # the watermarks prepare used; cached again once all is written
        stored = 0
        for step in plan_writes(result):
            if step.dead_letters:
                self._fence.check(ticket, {(d.source_topic, d.source_partition) for d in step.dead_letters
                                           if d.source_partition >= 0})
                send_dead(step.dead_letters)
                continue
            before = len(refused)
            calls = insert_isolating(step.rows, lambda chunk: self._insert(chunk, ticket), _is_refusal, on_refused)
            stored += len(step.rows) - (len(refused) - before)
            if calls > 1:
                log.info("batch split to isolate refused rows", table=self.spec.table, rows=len(step.rows),
                         refused=len(refused) - before, inserts=calls)
        if self._cache_marks and marks is not None and marks[0] == ticket:
            known = dict(marks[1])
            for topic, partition, _first, last in result.ranges:
                known[(topic, partition)] = max(known.get((topic, partition), -1), last)
            self._marks = (ticket, known)
        return stored


def register(app: faust.App, settings: Settings, codec: WireCodec, worker_index: int = 0) -> None:
    topics = settings.kafka.topics
    dlq = app.topic(topics.dead_letters, key_type=bytes, value_type=bytes)
    fence = fence_of(app)
    health = Health()
    if settings.sink.in_worker:
        # The fallback of one release: the sink as Faust agents. By default it is `servicepulse sink`
        # (streams/sink_process.py), a batch consumer of its own, and the worker's health file reports the worker.
        for attr, spec in TABLES.items():
            _register_sink(app, settings, codec, getattr(topics, attr), spec, dlq, fence, health)
    path = settings.worker.health_dir / f"worker-{worker_index}.json"

    async def report_health() -> None:
        while True:
            document = health.document(worker_index, fence)
            await asyncio.to_thread(write_health, path, document)
            if document["outage_s"] is not None and document["outage_s"] > settings.kafka.session_timeout_s:
                log.warning("worker cannot make progress: the store does not answer",
                            outage_s=document["outage_s"], error=document["outage_error"], health_file=str(path))
            await asyncio.sleep(settings.worker.health_interval_s)

    # A task, not a Faust timer (timers are the read-back loop's): the worker's health file, every few seconds.
    app.task(report_health)


def _register_sink(
    app: faust.App, settings: Settings, codec: WireCodec, topic_name: str, spec: TableSpec, dlq: faust.TopicT,
    fence: Fence, health: Health,
) -> None:
    sink = TableSink(spec, settings, codec, fence, health)
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
            # The ticket is taken before the watermarks are read: a rebalance after it fences the whole batch.
            ticket = fence.epoch
            mine = fence.assigned
            kept = [e for e in events if (e.message.topic, e.message.partition) in mine]
            if len(kept) < len(events):
                # Buffered before a rebalance, for partitions owned elsewhere now: their new owner reads them.
                unrecorded(e.message for e in events if (e.message.topic, e.message.partition) not in mine)
                log.info("messages of partitions no longer assigned here left to their owner", table=spec.table,
                         count=len(events) - len(kept))
            if not kept:
                continue
            messages = [
                Message(e.message.topic, e.message.partition, e.message.offset, e.message.key, e.message.value)
                for e in kept
            ]
            try:
                result = await asyncio.to_thread(sink.prepare, messages, ticket)
                await asyncio.to_thread(sink.write, result, send_dead, ticket)
            except Fenced as exc:
                # Not acked: the offsets stay behind the batch, which is redelivered to whoever owns the
                # partitions now; what this batch did store, the replay guard skips there.
                unrecorded(e.message for e in kept)
                log.warning("batch fenced off, left for redelivery", table=spec.table, messages=len(kept),
                            reason=str(exc))
            except Exception as exc:
                # Transient store failures never get here (they wait, above), nor rows the store refuses (they
                # are dead letters): what does is a setup error (missing table, no rights) or the dead-letter
                # topic not answering. take_events acks the batch in a `finally`, even when this body raises:
                # leaving the process is the only way to keep offsets behind rows that were never written.
                kind = classify_insert_error(exc)
                log.critical("sink write failed; worker stops so the batch is redelivered",
                             table=spec.table, failure=kind.value, error=refusal_reason(exc))
                os._exit(EXIT_SINK_FAILED)

    app.agent(source, name=f"sink-{spec.table}")(run)
