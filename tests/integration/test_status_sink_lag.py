"""`servicepulse status` shows the sink group's progress beside the workers': its lag is what is not yet
queryable, and it stays behind when only the sink stops."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories.calls import day_of_calls
from tests.factories.pipeline import Backend, Pipeline

pytestmark = pytest.mark.integration


def status(pipeline: Pipeline) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the call-events topic's partition rows, its per-topic row), as `servicepulse status --format json` prints."""
    rows = [json.loads(line) for line in pipeline.cli("status", "--format", "json").stdout.splitlines()]
    topic = pipeline.settings.kafka.topics.call_events
    (total,) = [r for r in rows if r.get("topic_total") == topic]
    return [r for r in rows if r.get("topic") == topic], total


def test_status_shows_the_sink_groups_lag(pipeline: Pipeline, backend: Backend) -> None:
    events = day_of_calls()
    producer = pipeline.producer()
    for event in events:
        producer.send(event)
    producer.flush()
    partitions, total = status(pipeline)
    assert len(partitions) == total["partitions"] == pipeline.settings.kafka.partitions
    assert all(r["sink_committed"] is None for r in partitions), partitions  # nobody has read them yet
    assert total["sink_lag"] is None

    pipeline.start_worker()
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") == len(events), what="stored")

    def caught_up() -> bool:
        rows, row = status(pipeline)
        return row["sink_lag"] == 0 and all(r["sink_committed"] is not None for r in rows if r["end_offset"])

    pipeline.wait_for(caught_up, timeout=60, what="the sink's offsets committed")
    partitions, total = status(pipeline)
    committed = {r["partition"]: r["sink_committed"] for r in partitions}
    # The workers' rule agents do not read call events: their group has nothing committed there, the sink's has.
    assert all(r["committed"] is None for r in partitions) and total["worker_lag"] is None, partitions
    if backend.name != "tansu":  # Tansu's end offsets are not message counts (measured): exact on Apache Kafka
        assert sum(committed.values()) == total["end_offset"] == len(events)

    # Only the sink stops: what arrives now is not queryable, and the sink's lag says so.
    (sink,) = pipeline.sinks()
    sink.terminate()
    sink.wait(60)
    for event in events:
        producer.send(event)
    producer.flush()
    partitions, total = status(pipeline)
    assert {r["partition"]: r["sink_committed"] for r in partitions} == committed
    assert total["sink_lag"] is not None and total["sink_lag"] > 0, total
    if backend.name != "tansu":
        assert total["sink_lag"] == len(events) and total["end_offset"] == 2 * len(events)
