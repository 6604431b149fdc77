"""What the real broker offers and checks: exact end offsets (true lag in `status`), topic configs as set."""

from __future__ import annotations

import json
import time

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource

from servicepulse.connectors.kafka import client_config, ensure_topics, leader_topic, topic_names
from tests.factories.calls import day_of_calls
from tests.factories.pipeline import Backend, Pipeline

pytestmark = pytest.mark.integration


def call_lag(pipeline: Pipeline) -> tuple[int, int]:
    """(sum of end offsets, sum of the sink's lag) of the call-events topic, as `servicepulse status` reports them.

    The sink's group is the one that reads call events (the workers' rules read them back from ClickHouse): its
    lag is what is not yet queryable."""
    rows = [json.loads(line) for line in pipeline.cli("status", "--format", "json").stdout.splitlines()]
    calls = [r for r in rows if r.get("topic") == pipeline.settings.kafka.topics.call_events]
    assert len(calls) == pipeline.settings.kafka.partitions, rows
    return sum(r["end_offset"] for r in calls), sum(r["sink_lag"] or 0 for r in calls)


def test_status_shows_the_true_lag(pipeline: Pipeline, backend: Backend) -> None:
    if backend.name == "tansu":
        # Measured: 30 messages in 4 partitions, Tansu reports end offsets summing to 4 (one per produce batch).
        pytest.skip("Tansu's end offsets are not exact (measured): its lag is a hint")
    events = day_of_calls()
    producer = pipeline.producer()
    for event in events:
        producer.send(event)
    producer.flush()
    assert call_lag(pipeline)[0] == len(events)
    pipeline.start_worker()
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") == len(events), what="stored")
    pipeline.wait_for(lambda: call_lag(pipeline) == (len(events), 0), timeout=60, what="offsets committed")
    pipeline.stop_workers()
    more = day_of_calls()[:7]
    for event in more:
        producer.send(event)
    producer.flush()
    # Not consumed while no worker (nor its sink) runs: the lag is exactly what was produced since.
    assert call_lag(pipeline) == (len(events) + len(more), len(more))


def describe(pipeline: Pipeline, topic: str) -> dict[str, str]:
    admin = AdminClient(client_config(pipeline.settings.kafka))
    (future,) = admin.describe_configs([ConfigResource("topic", topic)]).values()
    return {name: entry.value for name, entry in future.result().items()}


def test_created_topics_carry_the_production_settings(pipeline: Pipeline, backend: Backend) -> None:
    if backend.name == "tansu":
        pytest.skip("Tansu's describe-configs returns only what was set; checked on Apache Kafka")
    kafka = pipeline.settings.kafka
    metadata = AdminClient(client_config(kafka)).list_topics(timeout=10)
    for topic in [*topic_names(kafka), leader_topic(kafka)]:
        assert topic in metadata.topics, f"{topic} not created (auto-create is off)"
        partitions = metadata.topics[topic].partitions
        assert len(partitions) == (1 if topic == leader_topic(kafka) else kafka.partitions)
        assert all(len(p.replicas) == kafka.replication_factor for p in partitions.values())
        config = describe(pipeline, topic)
        assert config["retention.ms"] == str(kafka.retention_ms)
        assert config["min.insync.replicas"] == str(kafka.min_insync_replicas)
        assert config["cleanup.policy"] == "delete"
        assert config["max.message.bytes"] == str(8 * 1024 * 1024)


def test_production_replication_on_one_node_is_refused_clearly(pipeline: Pipeline, backend: Backend) -> None:
    if backend.name == "tansu":
        pytest.skip("Tansu accepts any replication factor")
    kafka = pipeline.settings.kafka.model_copy(update={"replication_factor": 3, "min_insync_replicas": 2})
    with pytest.raises(KafkaException, match=r"(?i)replication"):
        ensure_topics(kafka, [f"{kafka.consumer_group}-rf3-{time.monotonic_ns()}"])
