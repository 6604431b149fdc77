"""The read-back loop on the embedded stack: every query binds its parameters on the store, and the leader-only
timers run on exactly one worker (Faust's leader topic is created with the others, one partition)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from servicepulse.connectors.kafka import client_config, leader_topic
from servicepulse.schemas.events import InvoicePosting, PostingKind
from servicepulse.streams.readback import queries
from tests.factories.pipeline import Backend, Pipeline

pytestmark = pytest.mark.integration

SQL_DIR = Path(queries.__file__).parent / "sql"
# A value for every parameter name the read-back queries use.
VALUES: dict[str, object] = {
    "since": 0, "rule_id": "gl.suspense_aged", "newest": date(2026, 3, 2), "lookback": 45, "horizon": 145,
    "customer": "c1", "run_id": "r1", "pay_date": date(2026, 3, 25), "period": "2026-03",
    "first": date(2026, 1, 1), "last": date(2026, 12, 31), "ids": ["e1", "e2"],
    "hours": 24, "channel": "webhook:slack", "limit": 10,
    "next_keys": ["invoice-postings:0"], "next_offsets": [1], "upto_keys": ["invoice-postings:0"], "upto_offsets": [9],
    "keys": [("1040", "1930", date(2026, 3, 2), "e1")], "refs": [("1040", "123")], "amounts": [("1040", 100)],
    "days": [("1040", date(2026, 3, 2), "A")], "suppliers": [("1040", "S1")], "first_invoice": "e1",
    "history_from": date(2026, 1, 1), "min_amount": 1000, "companies": ["1040"], "slices": 2, "slice": 1,
    "rule_keys": [("ref", "1040", "123")], "own": [("1040", "1510", date(2026, 3, 2), "e1")], "least": 1,
    "approval_limit": 5_000_000, "new_days": 90, "table": "call_events", "group": "queue",
    "versions": [("kc-parking", 1772438400000, "e1")], "rules": ["payroll.", "gl.suspense_aged"],
    "severities": ["high", "critical"], "min_count": 5,
    "bank_sources": ["bgmax", "camt054"], "length_digit": True, "invoice_horizon": 145,
}


def test_every_readback_query_binds_and_runs_on_the_migrated_store(pipeline: Pipeline) -> None:
    client = pipeline.client()
    for path in sorted(SQL_DIR.glob("*.sql")):
        names = set(re.findall(r"\{(\w+):", queries.sql(path.stem)))
        if names == {"table"}:
            for table in ("call_events", "complaints", "cases"):
                assert queries.rows(client, path.stem, table=table) == [], path.name
            continue
        assert names <= VALUES.keys(), path.name
        queries.rows(client, path.stem, **{n: VALUES[n] for n in names})
    # Values travel as parameters: a quote in one is data, not SQL.
    assert queries.rows(client, "payroll_stored_lines", customer="x' OR '1'='1", run_id="r") == [(0,)]


def _leadership(pipeline: Pipeline) -> dict[str, bool]:
    """Per worker log, what its latest rebalance said: does it run the leader-only timers?"""
    latest = {}
    for path in sorted(pipeline.workdir.glob("worker-*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if '"read-back timers"' in line:
                latest[path.name] = bool(json.loads(line)["leader"])
    return latest


def _records(pipeline: Pipeline, topic: str) -> int:
    consumer = Consumer(client_config(pipeline.settings.kafka) | {"group.id": f"{topic}-count",
                                                                  "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        count, quiet_since = 0, time.monotonic()
        while time.monotonic() - quiet_since < 3:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                count, quiet_since = count + 1, time.monotonic()
        return count
    finally:
        consumer.close()


def test_leader_only_timers_run_on_exactly_one_worker(pipeline: Pipeline) -> None:
    kafka = pipeline.settings.kafka
    metadata = AdminClient(client_config(kafka)).list_topics(timeout=10)
    assert len(metadata.topics[leader_topic(kafka)].partitions) == 1

    fast = {"READBACK__FINANCE_INTERVAL_S": "1"}
    pipeline.start_worker(0, **fast)
    pipeline.start_worker(1, **fast)

    def one_leader() -> bool:
        latest = _leadership(pipeline)
        return len(latest) == 2 and sum(latest.values()) == 1

    pipeline.wait_for(one_leader, timeout=90, what="two workers, one of them leader")
    # A bank payment without a reference: one bank.likely_unidentified finding from the finance review.
    producer = pipeline.producer()
    producer.send(InvoicePosting(event_id="bg-1", kind=PostingKind.incoming_payment, company="1040", account="1930",
                                 amount_ore=12_500, posting_date=date(2026, 3, 12), source="bgmax",
                                 recorded_at=datetime(2026, 3, 12, 9, tzinfo=UTC)))
    producer.flush()
    found = "SELECT count() FROM findings FINAL WHERE rule_id = 'bank.likely_unidentified'"
    pipeline.wait_for(lambda: pipeline.scalar(found) == 1, timeout=60, what="the review's finding")
    time.sleep(4)  # several more review ticks on both workers
    assert one_leader()
    # Reviewed on every worker, each would have sent it once: sent once, by the leader.
    assert _records(pipeline, kafka.topics.findings) == 1


def test_the_leader_samples_consumer_lag_for_the_dashboard(pipeline: Pipeline, backend: Backend) -> None:
    from servicepulse.schemas.events import CallEvent, CallEventType
    from servicepulse.streams.sink_process import sink_group

    producer = pipeline.producer()
    sent = 40
    for i in range(sent):
        producer.send(CallEvent(event_id=f"lag-{i}", contact_id=f"lag-{i}", event_type=CallEventType.offered,
                                channel="phone", queue="payroll-service", org="Lön & pension",
                                occurred_at=datetime(2026, 3, 10, 9, tzinfo=UTC), source="test"))
    producer.flush()
    pipeline.start_worker(0, READBACK__LAG_TICK_S="1")
    pipeline.wait_for(lambda: int(pipeline.scalar("SELECT count() FROM call_events")) >= sent, what="events stored")
    topic = pipeline.settings.kafka.topics.call_events

    def latest() -> list[tuple[int, int, int | None, int | None]]:
        return [(int(p), int(e), c, lag) for p, e, c, lag in pipeline.rows(
            "SELECT partition, argMax(end_offset, sampled_at), argMax(committed, sampled_at), argMax(lag, sampled_at) "
            f"FROM consumer_lag WHERE topic = '{topic}' GROUP BY partition")]

    if backend.name == "apache-kafka":
        # True end offsets: every message counted, and the lag drains to 0 once the worker has committed.
        pipeline.wait_for(lambda: sum(e for _, e, _, _ in latest()) == sent and all(lag == 0 for *_, lag in latest()),
                          timeout=90, what="a lag sample showing every message consumed")
    else:
        # Tansu's end offsets can be off (the first offset of the last batch + 1): a sample must merely exist for
        # every partition, with the group's committed offset.
        pipeline.wait_for(lambda: len(latest()) == pipeline.settings.kafka.partitions
                          and all(c is not None for _, _, c, _ in latest()),
                          timeout=90, what="a lag sample with every partition committed")
    groups = {str(g) for (g,) in pipeline.rows("SELECT DISTINCT consumer_group FROM consumer_lag")}
    settings = pipeline.settings
    assert groups == {settings.kafka.consumer_group if settings.sink.in_worker else sink_group(settings)}
