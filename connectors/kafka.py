"""confluent-kafka clients: client config, topic creation, a producer of events, consumer progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from servicepulse.config import KafkaSettings

from .serde import WireCodec

__all__ = [
    "EventProducer",
    "GroupProgress",
    "client_config",
    "consumer_progress",
    "end_offsets",
    "ensure_topics",
    "leader_topic",
    "reset_partitions",
    "topic_names",
    "wait_for_kafka",
]

log = structlog.get_logger(__name__)


def client_config(settings: KafkaSettings) -> dict[str, Any]:
    conf: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_or_embedded(),
        "security.protocol": settings.security_protocol,
    }
    if settings.sasl_mechanism:
        conf["sasl.mechanism"] = settings.sasl_mechanism
        conf["sasl.username"] = settings.sasl_username or ""
        conf["sasl.password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    if settings.ssl_ca_file is not None:
        conf["ssl.ca.location"] = str(settings.ssl_ca_file)
    return conf


def topic_names(settings: KafkaSettings) -> list[str]:
    return list(settings.topics.model_dump().values())


def leader_topic(settings: KafkaSettings) -> str:
    """Faust's leader-election topic (`<app id>-__assignor-__leader`, the app id being the consumer group).

    The worker assigns its one partition to one worker, which runs the `on_leader` timers. The app never
    declares topics (`topic_allow_declare=False`), so it is created here with the others, with one partition.
    """
    return f"{settings.consumer_group}-__assignor-__leader"


def wait_for_kafka(settings: KafkaSettings, timeout_s: float = 60.0) -> None:
    admin = AdminClient(client_config(settings))
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin.list_topics(timeout=2)
            return
        except KafkaException as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka at {settings.bootstrap_or_embedded()} not reachable: {exc}") from exc
            time.sleep(0.2)


def ensure_topics(settings: KafkaSettings, names: Iterable[str] | None = None) -> list[str]:
    """Create missing topics with explicit configs (Tansu's describe-configs returns only those set).

    Without `names`: every topic of the settings and the leader-election topic (one partition).
    """
    admin = AdminClient(client_config(settings))
    wanted = {name: settings.partitions for name in (names if names is not None else topic_names(settings))}
    if names is None:
        wanted[leader_topic(settings)] = 1
    existing = set(admin.list_topics(timeout=10).topics)
    configs = {
        "retention.ms": str(settings.retention_ms),
        "min.insync.replicas": str(settings.min_insync_replicas),
        "cleanup.policy": "delete",
        "max.message.bytes": str(8 * 1024 * 1024),
    }
    new = [
        NewTopic(name, num_partitions=partitions, replication_factor=settings.replication_factor, config=configs)
        for name, partitions in wanted.items()
        if name not in existing
    ]
    if not new:
        return []
    for future in admin.create_topics(new, operation_timeout=10).values():
        try:
            future.result()
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    log.info("topics created", topics=[t.topic for t in new], partitions=settings.partitions)
    return [t.topic for t in new]


class EventProducer:
    """Encodes events with the wire codec and produces them keyed, idempotently, to their topic."""

    def __init__(self, settings: KafkaSettings, codec: WireCodec, **overrides: Any) -> None:
        conf = client_config(settings) | {
            "enable.idempotence": True,
            "linger.ms": 20,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 500_000,
            "compression.type": "none",
        }
        conf.update(overrides)
        self._producer = Producer(conf)
        self._codec = codec
        self._topics = settings.topics
        self.produced = 0
        self.failed: list[str] = []
        # Highest delivered offset per (topic, partition): lets `ingest --wait` know when all is stored.
        self.max_offsets: dict[tuple[str, int], int] = {}

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed.append(str(err))
            return
        key = (msg.topic(), msg.partition())
        if msg.offset() > self.max_offsets.get(key, -1):
            self.max_offsets[key] = msg.offset()

    def topic_for(self, event: Any) -> str:
        return str(getattr(self._topics, type(event).topic_attr))

    def send(self, event: Any, on_delivery: Callable[[Any, Any], None] | None = None) -> None:
        self.send_raw(self.topic_for(event), event.key(), self._codec.encode(event), on_delivery)

    def send_raw(
        self, topic: str, key: bytes | None, value: bytes, on_delivery: Callable[[Any, Any], None] | None = None
    ) -> None:
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, on_delivery=on_delivery or self._on_delivery)
                break
            except BufferError:
                self._producer.poll(0.05)
        self.produced += 1
        self._producer.poll(0)

    def close(self, timeout_s: float = 5.0) -> None:
        """Deliver what can be delivered within `timeout_s`, drop the rest and stop librdkafka's threads (an
        unclosed producer keeps reconnecting to a broker that is gone, and says so on stderr)."""
        self._producer.flush(timeout_s)
        self._producer.purge()
        self._producer.close()

    def flush(self, timeout_s: float = 60.0) -> None:
        remaining = self._producer.flush(timeout_s)
        if remaining:
            raise TimeoutError(f"{remaining} messages not delivered after {timeout_s}s")
        if self.failed:
            raise RuntimeError(f"{len(self.failed)} messages failed delivery, first: {self.failed[0]}")


@dataclass(frozen=True)
class GroupProgress:
    topic: str
    partition: int
    committed: int | None
    high_watermark: int

    @property
    def lag(self) -> int | None:
        return None if self.committed is None else max(self.high_watermark - self.committed, 0)


def consumer_progress(settings: KafkaSettings, group: str, topics: Iterable[str]) -> list[GroupProgress]:
    """Committed offset vs. end offset per partition: the true lag on Apache Kafka; Tansu's end offsets can be off
    (measured), so there it is a hint."""
    consumer = Consumer(client_config(settings) | {"group.id": group, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in metadata.topics
            for p in sorted(metadata.topics[topic].partitions)
        ]
        committed = _committed(consumer, partitions) if partitions else []
        out = []
        for tp in committed:
            _low, high = _watermarks(consumer, tp)
            out.append(GroupProgress(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else None, high))
        return out
    finally:
        consumer.close()


# Answers of a broker still settling (just started, topic just created) that librdkafka does not flag retriable.
_SETTLING = (
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PART,
)


def _settling(exc: KafkaException) -> bool:
    error = exc.args[0]
    return bool(error.retriable()) or error.code() in _SETTLING


def _committed(consumer: Consumer, partitions: list[TopicPartition], timeout_s: float = 30.0) -> list[TopicPartition]:
    """The group's committed offsets. A new Apache Kafka creates and loads its offsets topic on the first group
    request and answers NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS meanwhile (measured): retried."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return list(consumer.committed(partitions, timeout=10))
        except KafkaException as exc:
            if not _settling(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _watermarks(consumer: Consumer, tp: TopicPartition, timeout_s: float = 30.0) -> tuple[int, int]:
    """(low, high) from the partition's leader. Just after a topic is created or a broker started, the leader is
    not known yet (NOT_LEADER_FOR_PARTITION, measured on Apache Kafka): retried."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            low, high = consumer.get_watermark_offsets(tp, timeout=5, cached=False)
            return int(low), int(high)
        except KafkaException as exc:
            if not _settling(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def end_offsets(settings: KafkaSettings, topics: Iterable[str]) -> dict[tuple[str, int], tuple[int, int]]:
    """(low, high) watermark offsets of every partition of `topics` that exists: the broker's, not a cache."""
    consumer = Consumer(client_config(settings) | {"group.id": "servicepulse-offsets", "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(timeout=10)
        out: dict[tuple[str, int], tuple[int, int]] = {}
        for topic in topics:
            if topic not in metadata.topics:
                continue
            for p in sorted(metadata.topics[topic].partitions):
                low, high = _watermarks(consumer, TopicPartition(topic, p))
                out[(topic, p)] = (low, high)
        return out
    finally:
        consumer.close()


def reset_partitions(
    stored: dict[tuple[str, int], int], ends: dict[tuple[str, int], tuple[int, int]]
) -> list[tuple[str, int]]:
    """Partitions the broker restarted from scratch: a stored offset (the highest one written into ClickHouse) the
    broker's log does not reach, or a partition it no longer has. Their watermarks would make the replay guard
    drop every new message up to the old offset; any other watermark stays, whatever the broker kind."""
    return sorted(key for key, offset in stored.items() if key not in ends or ends[key][1] <= offset)
