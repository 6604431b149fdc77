"""The store frozen (SIGSTOP) for a minute under load, or killed and restarted: workers wait, then drain, exactly."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servicepulse.devstack.stack import EmbeddedStore
from tests.factories.cluster import Feeder, call_load, exactness
from tests.factories.faults import FaultReport
from tests.factories.pipeline import Backend, Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

FREEZE_S = 60.0
KILLED_S = 20.0
DRAIN_S = 60.0


@pytest.fixture
def store(backend: Backend) -> Iterator[EmbeddedStore]:
    """The shared store, given back running and answering whatever the test did to it."""
    if backend.store is None:
        pytest.skip("needs the embedded store's process")
    try:
        yield backend.store
    finally:
        backend.store.ensure_running()


def _health(pipeline: Pipeline) -> dict[str, object]:
    # The sink process writes the store outage into its health file (the worker's, when the workers sink).
    name = "worker-0.json" if pipeline.settings.sink.in_worker else "sink-0.json"
    path = Path(pipeline.env["WORKER__HEALTH_DIR"]) / name
    document: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _outage(pipeline: Pipeline, store: EmbeddedStore, name: str, cut: str) -> None:
    started = time.monotonic()
    calls = call_load(4000, seed=11 if cut == "freeze" else 12)
    worker = pipeline.start_worker(0)
    # Paced over ~20 s, so events still arrive once the store is down: the sink (~20 k rows/s) would otherwise have
    # stored them all before the cut and have nothing to wait with.
    feeder = Feeder(pipeline, calls, chunk=200, pause_s=1.0, corrupt_per_chunk=0).start()
    count = "SELECT count() FROM call_events"
    pipeline.wait_for(lambda: pipeline.scalar(count) > 2000, timeout=90, what="rows before the outage")
    if cut == "freeze":
        store.freeze()
    else:
        store.kill()
    down_at = time.monotonic()
    seen_outage = False
    while time.monotonic() - down_at < (FREEZE_S if cut == "freeze" else KILLED_S):
        assert worker.poll() is None, f"worker exited with {worker.returncode} while the store was down"
        health = _health(pipeline)
        seen_outage = seen_outage or (health["status"] != "ok" and float(str(health["outage_s"])) > 5)
        time.sleep(1)
    feeder.join()
    if cut == "freeze":
        store.thaw()
    else:
        store.ensure_running()
    back_at = time.monotonic()
    pipeline.wait_for(lambda: pipeline.scalar(count) >= len(calls), timeout=DRAIN_S + 30, what="the backlog")
    drained_s = time.monotonic() - back_at
    time.sleep(3)  # a late duplicate would land now
    tally = exactness(pipeline, {"call_events": len(calls)})[0]
    FaultReport(name, len(calls), tally.rows, tally.lost, tally.duplicated, time.monotonic() - started).print()
    print(f"  drained {drained_s:.1f}s after the store came back")
    assert worker.poll() is None, "the worker exited"
    assert (tally.rows, tally.distinct) == (len(calls), len(calls))
    assert drained_s < DRAIN_S
    assert seen_outage, "the health file never showed the outage"
    logs = pipeline.worker_logs()
    assert "store unavailable; the batch waits" in logs
    assert "sink write failed" not in logs
    pipeline.wait_for(lambda: _health(pipeline)["status"] == "ok", timeout=60, what="health back to ok")


def test_store_frozen_for_a_minute_under_load(pipeline: Pipeline, store: EmbeddedStore) -> None:
    _outage(pipeline, store, "store frozen 60 s (SIGSTOP) under load", "freeze")


def test_store_killed_and_restarted_on_its_data(pipeline: Pipeline, store: EmbeddedStore) -> None:
    _outage(pipeline, store, "store killed (SIGKILL), restarted on the same data dir and port", "kill")
