"""A chat endpoint down for minutes, a worker killed during the outage, then a leader change: every alert is
listed in exactly one delivered digest, no digest is delivered twice, and nothing is stored twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from tests.factories.calls import planted_events
from tests.factories.chat import ChatServer
from tests.factories.faults import FaultReport
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

OUTAGE_S = float(os.environ.get("SERVICEPULSE_FAULT_OUTAGE_S", "90"))
FAST = {"ALERTS__WEBHOOK_FORMAT": "generic", "ALERTS__WEBHOOK_BACKOFF_S": "1", "ALERTS__WEBHOOK_BACKOFF_MAX_S": "8",
        "READBACK__DEAD_LETTER_TICK_S": "1", "ALERTS__BATCH_MINUTES": "0.1"}
# Planted contact and complaint breaches (test_contact_sla): 5 SLA alerts; plus one garbage message: 1
# ops.dead_letters alert.
EXPECTED_ALERTS = 6


def _leader(pipeline: Pipeline, procs: dict[str, subprocess.Popen[bytes]]) -> str | None:
    """The log file (one per worker process) whose latest rebalance made it the leader, among live processes."""
    found = None
    for name, proc in procs.items():
        if proc.poll() is not None:
            continue
        latest = None
        for line in (pipeline.workdir / name).read_text(errors="replace").splitlines():
            if '"read-back timers"' in line:
                latest = bool(json.loads(line[line.index("{"):])["leader"])
        if latest:
            found = name
    return found


def test_webhook_outage_with_a_killed_worker_and_a_leader_change(pipeline: Pipeline) -> None:
    started = time.monotonic()
    chat = ChatServer(OUTAGE_S)  # 503 until the outage is over, then 200
    env = FAST | {"ALERTS__WEBHOOK_URL": chat.url}
    try:
        producer = pipeline.producer()
        for event in planted_events():
            producer.send(event)
        producer.send_raw(pipeline.settings.kafka.topics.call_events, b"garbage", b"\x00garbage")
        producer.flush()

        first = pipeline.start_worker(0, **env)  # logs to worker-0-0.log
        distinct = "SELECT count(DISTINCT alert_id) FROM alerts"
        pending = "SELECT count() FROM alert_deliveries WHERE state = 'pending'"
        pipeline.wait_for(lambda: pipeline.scalar(distinct) >= EXPECTED_ALERTS and pipeline.scalar(pending) >= 1,
                          timeout=max(60.0, OUTAGE_S - 10), what="alerts stored, deliveries failing")
        assert time.monotonic() < chat.up_at, "the outage must still be on when the worker is killed"
        # Killed during the outage, restarted: the undelivered alerts are in the outbox, not in its memory.
        first.send_signal(signal.SIGKILL)
        first.wait()
        restarted = pipeline.start_worker(0, **env)  # worker-0-1.log
        delivered = "SELECT count(DISTINCT alert_id) FROM alert_deliveries WHERE state = 'delivered'"
        pipeline.wait_for(lambda: time.monotonic() > chat.up_at and pipeline.scalar(delivered) >= EXPECTED_ALERTS,
                          timeout=OUTAGE_S + 90, what="every alert delivered after the outage")
        assert chat.refused >= 1
        posted_before = len(chat.posts)

        # A leader change: a second worker joins, the leader is killed; the survivor re-derives every alert.
        procs = {"worker-0-1.log": restarted, "worker-1-2.log": pipeline.start_worker(1, **env)}
        pipeline.wait_for(lambda: len([p for p in procs.values() if p.poll() is None]) == 2
                          and _leader(pipeline, procs) is not None
                          and all('"read-back timers"' in (pipeline.workdir / n).read_text(errors="replace")
                                  for n in procs), timeout=90, what="two workers, one leader")
        leader = _leader(pipeline, procs)
        assert leader is not None
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait()
        pipeline.wait_for(lambda: _leader(pipeline, procs) is not None, timeout=90, what="a new leader")
        time.sleep(15)  # the new leader's SLA monitor, dead-letter step and courier run many ticks

        alerts = int(pipeline.scalar(distinct))
        stored = int(pipeline.scalar("SELECT count() FROM alerts"))
        posts = len(chat.posts)
        answers = Counter(p.key for p in chat.posts)  # 200 answers per Idempotency-Key (the digest id)
        digests = {p.key: p for p in chat.posts}
        listed = Counter(alert_id for p in digests.values() for alert_id in p.alert_ids)
        # A digest delivered twice, or an alert listed in two delivered digests, is a duplicate in chat.
        duplicates = sum(n - 1 for n in answers.values()) + sum(n - 1 for n in listed.values())
        lost = len({str(i) for (i,) in pipeline.rows("SELECT DISTINCT alert_id FROM alerts")} - set(listed))
        FaultReport(f"webhook outage (events: alerts; rows: items listed in {posts} digests)", alerts,
                    sum(listed.values()), lost, duplicates, time.monotonic() - started).print()
        assert alerts == EXPECTED_ALERTS
        assert duplicates == 0 and lost == 0 and sum(listed.values()) == alerts
        assert 1 <= posts <= alerts
        assert posts == posted_before, "the leader change re-posted digests"
        assert all(p.key == p.body["digest_id"] for p in chat.posts)  # Idempotency-Key = digest id
        # The outbox says which digest listed each alert, as the chat saw it.
        assert dict(pipeline.rows("SELECT alert_id, any(digest_id) FROM alert_deliveries WHERE state = 'delivered' "
                                  "GROUP BY alert_id")) == {a: k for k, p in digests.items() for a in p.alert_ids}
        assert stored == alerts, f"{stored - alerts} alert rows stored twice"
    finally:
        chat.close()
