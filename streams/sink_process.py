"""The sink as a process of its own: a confluent-kafka batch consumer that stores every topic in its table and
commits offsets only after the insert (no Faust per-message machinery); `servicepulse sink` runs it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka import Message as KafkaMessage

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import classify_insert_error, refusal_reason
from servicepulse.connectors.kafka import client_config
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import DeadLetter

from .fence import TICK_S, Fence, Fenced
from .sink import TABLES, Message
from .sink_agents import DEAD_LETTER_SEND_TIMEOUT_S, EXIT_SINK_FAILED, Health, TableSink, write_health

__all__ = ["SinkProcess", "sink_group"]

log = structlog.get_logger(__name__)

Partition = tuple[str, int]


def sink_group(settings: Settings) -> str:
    """The sink's consumer group: its own, beside the Faust workers' (which keep the rule agents and timers)."""
    return f"{settings.kafka.consumer_group}-sink"


class SinkProcess:
    """One sink process. The loop is single-threaded on purpose: `consume()` runs the rebalance callbacks, and it
    is only called between batches (or while a batch waits for the store, its partitions paused), so a revoke
    never finds an insert half done; what a revoke interrupts is abandoned uncommitted and redelivered, and the
    replay guard skips whatever of it was stored. Offsets are committed only after every row and dead letter of
    the batch is written."""

    def __init__(self, settings: Settings, codec: WireCodec, index: int = 0) -> None:
        self._settings = settings
        self._codec = codec
        self._index = index
        kafka = settings.kafka
        self._topics = {getattr(kafka.topics, attr): spec for attr, spec in TABLES.items()}
        self._fence = Fence(stall_limit_s=kafka.session_timeout_s)
        self._health = Health()
        self._sinks = {topic: TableSink(spec, settings, codec, self._fence, self._health, wait=self._wait_serving,
                                        cache_watermarks=True)
                       for topic, spec in self._topics.items()}
        self._consumer = Consumer(client_config(kafka) | {
            "group.id": sink_group(settings),
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": int(kafka.session_timeout_s * 1000),
            "heartbeat.interval.ms": int(kafka.heartbeat_interval_s * 1000),
            "max.poll.interval.ms": 300_000,
            # Eager: every member gives up everything before anyone gets anything, the fence's model (one epoch
            # for the whole assignment). Cooperative-sticky (not measured yet) would move fewer partitions per
            # rebalance but needs a per-partition epoch in the fence.
            "partition.assignment.strategy": "range",
            "fetch.wait.max.ms": 50,
            "on_commit": self._on_commit,
            "queued.min.messages": 20_000,
        })
        self._producer = Producer(client_config(kafka) | {"enable.idempotence": True, "linger.ms": 5})
        # Messages a wait for the store received before the pause took hold: the next batch's first.
        self._carry: list[KafkaMessage] = []
        self._rejoin = False
        self._stop = threading.Event()
        # Offsets after the batches stored since the last commit, committed every SINK__COMMIT_INTERVAL_S.
        self._pending: dict[Partition, int] = {}
        self._committed_at = time.monotonic()

    # ------------------------------------------------------------------ group membership

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._fence.assign((tp.topic, tp.partition) for tp in partitions)
        log.info("sink partitions assigned", partitions=len(partitions), epoch=self._fence.epoch)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Called inside consume(): no insert is running. A batch waiting for the store is fenced off by this
        # and abandoned, uncommitted; the messages read ahead go too (the new owner reads them).
        self._fence.revoke_all()
        self._carry.clear()
        self._commit()  # what is stored, before the partitions go: less for the new owner to read again
        log.info("sink partitions revoked", partitions=len(partitions), epoch=self._fence.epoch)

    def _subscribe(self) -> None:
        self._consumer.subscribe(list(self._topics), on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_revoke)

    def _ticker(self) -> None:
        """Proof that the process is not frozen (SIGSTOP): after a stall past the session the group has likely
        moved the partitions on, so nothing is written until the consumer has rejoined."""
        path = self._settings.worker.health_dir / f"sink-{self._index}.json"
        next_health = 0.0
        while not self._stop.wait(TICK_S):
            if self._fence.tick():
                log.warning("sink was frozen past its session; writes fenced until it rejoins the group")
                self._rejoin = True
            now = time.monotonic()
            if now >= next_health:
                next_health = now + self._settings.worker.health_interval_s
                document = self._health.document(self._index, self._fence)
                document["role"] = "sink"
                try:
                    write_health(path, document)
                except OSError as exc:
                    log.warning("health file not written", error=repr(exc))

    # ------------------------------------------------------------------ waiting for the store

    def _wait_serving(self, ticket: int, delay_s: float) -> None:
        """A retry's back-off: stop fetching (pause every assigned partition) but keep calling consume(), so
        the group sees a live member and a rebalance reaches the fence at once."""
        assigned = self._consumer.assignment()
        if assigned:
            self._consumer.pause(assigned)
        deadline = time.monotonic() + delay_s
        while (left := deadline - time.monotonic()) > 0 and self._fence.epoch == ticket:
            if self._stop.is_set():
                raise Fenced("stopping: the batch waiting for the store is left uncommitted for redelivery")
            got = self._consumer.consume(num_messages=1_000, timeout=min(left, 0.5))
            self._carry.extend(m for m in got if m.error() is None)

    def _resume(self) -> None:
        assigned = self._consumer.assignment()
        if assigned:
            self._consumer.resume(assigned)

    # ------------------------------------------------------------------ the loop

    def _next_batch(self) -> list[KafkaMessage]:
        """Up to batch_max messages: what is queued now, topped up until the queue runs dry or batch_within_s.
        An empty batch waits in `poll()`, which returns at the first message; the rest is what is queued behind it
        (`consume(timeout=0)`), or what arrives within SINK__LINGER_S of the first. `consume(n, timeout)` returns
        at n messages or at the timeout: asked for the batch, it held every batch at a steady rate for its whole
        50 ms slice."""
        conf = self._settings.sink
        batch, self._carry = self._carry, []
        epoch = self._fence.epoch
        deadline = time.monotonic() + conf.batch_within_s
        linger_until = time.monotonic() + conf.linger_s if batch else 0.0
        while len(batch) < conf.batch_max and not self._stop.is_set():
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                break
            want = conf.batch_max - len(batch)
            topping_up = bool(batch)
            if topping_up:
                got = self._consumer.consume(num_messages=want, timeout=max(0.0, min(linger_until - now, left)))
            else:
                first = self._consumer.poll(timeout=min(left, 0.05))
                got = [] if first is None else [first]
                linger_until = time.monotonic() + conf.linger_s
            if self._fence.epoch != epoch:
                # A rebalance ran inside consume() or poll(): what was read before it belongs to the old
                # assignment; the partitions assigned now are read again from their committed offsets, in order.
                epoch, batch = self._fence.epoch, []
            for m in got:
                err = m.error()
                if err is None:
                    batch.append(m)
                elif err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consumer error", error=str(err))
            if topping_up and len(got) < want and time.monotonic() >= linger_until:
                break  # the queue ran dry: write what there is now (latency), the next batch is already fetching
        return batch

    def _send_dead(self, letters: list[DeadLetter]) -> None:
        topic = self._settings.kafka.topics.dead_letters
        failures: list[str] = []

        def delivered(err: Any, _msg: Any) -> None:
            if err is not None:
                failures.append(str(err))

        for letter in letters:
            self._producer.produce(topic, key=letter.key(), value=self._codec.encode(letter), on_delivery=delivered)
        left = self._producer.flush(DEAD_LETTER_SEND_TIMEOUT_S)
        if left or failures:
            raise RuntimeError(f"dead letters not acknowledged: {left} pending, failures {failures[:1]}")
        log.warning("dead letters", count=len(letters), first=letters[0].reason)

    def _write(self, batch: Sequence[KafkaMessage]) -> None:
        ticket = self._fence.epoch
        mine = self._fence.assigned
        by_topic: dict[str, list[Message]] = defaultdict(list)
        ends: dict[Partition, int] = {}
        for m in batch:
            topic, partition, offset = m.topic(), m.partition(), m.offset()
            if topic is None or partition is None or offset is None or (topic, partition) not in mine:
                continue
            by_topic[topic].append(Message(topic, partition, offset, m.key(), m.value()))
            ends[(topic, partition)] = offset + 1
        for topic, messages in by_topic.items():
            sink = self._sinks[topic]
            result = sink.prepare(messages, ticket)
            sink.write(result, self._send_dead, ticket)
        if not ends:
            return
        self._fence.check(ticket, ends)
        self._pending |= ends
        if time.monotonic() - self._committed_at >= self._settings.sink.commit_interval_s:
            self._commit(sync=False)

    def _on_commit(self, err: Any, _partitions: Any) -> None:
        if err is not None and err.code() != KafkaError._NO_OFFSET:
            log.warning("offsets not committed after the insert; the replay guard absorbs the redelivery",
                        error=str(err))

    def _commit(self, sync: bool = True) -> None:
        """Commit the offsets after the stored batches (never before their rows are written). Between batches
        asynchronously: the commit only bounds what a restart re-reads, the watermarks keep the tables exact."""
        pending, self._pending = self._pending, {}
        self._committed_at = time.monotonic()
        if not pending:
            return
        try:
            offsets = [TopicPartition(t, p, o) for (t, p), o in pending.items()]
            if sync:
                self._consumer.commit(offsets=offsets, asynchronous=False)
            else:
                self._consumer.commit(offsets=offsets, asynchronous=True)
        except KafkaException as exc:
            # The rows are stored; an uncommitted batch is redelivered and skipped by the replay guard.
            log.warning("offsets not committed after the insert; the replay guard absorbs the redelivery",
                        error=str(exc))

    def run(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        # clickhouse-connect looks for pandas at the first insert (a second or more of imports): before the
        # first batch, not inside it.
        from clickhouse_connect.driver import options

        _ = options.pd
        self._subscribe()
        ticker = threading.Thread(target=self._ticker, name="sink-ticker", daemon=True)
        ticker.start()
        log.info("sink started", index=self._index, group=sink_group(self._settings), topics=len(self._topics))
        try:
            while not self._stop.is_set():
                if self._rejoin:
                    self._rejoin = False
                    self._carry.clear()
                    # Leave and join again: the assignment may be stale, and positions must go back to the
                    # committed offsets (the batch the stall interrupted was never committed).
                    self._consumer.unsubscribe()
                    self._subscribe()
                batch = self._next_batch()
                if not batch:
                    continue
                try:
                    self._write(batch)
                except Fenced as exc:
                    log.warning("batch fenced off, left for redelivery", messages=len(batch), reason=str(exc))
                    # A rebalance put the positions back to the committed offsets (and emptied the carry of the
                    # old assignment: what it holds now was read under the new one); after a stall the ticker
                    # asks for a rejoin, which does.
                except Exception as exc:
                    # Transient store failures never get here (they wait), nor refused rows (dead letters): a
                    # setup error or the dead-letter topic not answering does. Nothing is committed; leaving is
                    # the way to have the batch redelivered (`up` restarts the process with a back-off).
                    log.critical("sink write failed; the sink stops so the batch is redelivered",
                                 failure=classify_insert_error(exc).value, error=refusal_reason(exc))
                    os._exit(EXIT_SINK_FAILED)
                finally:
                    self._resume()
        finally:
            self._stop.set()
            self._commit()
            self._consumer.close()
            self._producer.flush(10)
            log.info("sink stopped", index=self._index)
