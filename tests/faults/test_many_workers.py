"""Exactly once with many workers: one killed with SIGKILL and one added mid-stream, every table exact without FINAL."""

from __future__ import annotations

import signal
import time

import pytest

from servicepulse.schemas.events import CallEvent, InvoicePosting
from tests.factories.cluster import Feeder, call_load, exactness, postings, service_level_mismatches
from tests.factories.faults import FaultReport
from tests.factories.pipeline import Pipeline

pytestmark = pytest.mark.integration

# No offsets committed for a minute: the partitions of the killed worker, and every partition moved by the two
# rebalances, are re-read from the start by their new owners, the redelivery the fence and the guard absorb.
SLOW_COMMIT = {"WORKER__COMMIT_INTERVAL_S": "60", "WORKER__COMMIT_EVERY": "1000000", "SINK__COMMIT_INTERVAL_S": "60"}


@pytest.mark.parametrize("workers", [2, 3])
def test_worker_killed_and_worker_added_mid_stream(pipeline: Pipeline, workers: int) -> None:
    started = time.monotonic()
    calls = call_load(3000, seed=workers)
    payments = postings(400, seed=workers)
    procs = [pipeline.start_worker(i, **SLOW_COMMIT) for i in range(workers)]
    count = "SELECT count() FROM call_events"
    pipeline.producer().send(payments[0])
    feeder = Feeder(pipeline, [*calls[: len(calls) // 2], *payments[1:], *calls[len(calls) // 2:]],
                    chunk=400, pause_s=0.6).start()
    pipeline.wait_for(lambda: pipeline.scalar(count) > len(calls) // 4, timeout=120, what="a quarter stored")
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    pipeline.wait_for(lambda: pipeline.scalar(count) > len(calls) // 2, timeout=120, what="half stored")
    joined = pipeline.start_worker(workers, **SLOW_COMMIT)
    feeder.join()
    _check_exact(pipeline, f"{workers} workers, one killed, one added", calls, payments, feeder, started)
    assert joined.poll() is None and all(p.poll() is None for p in procs[1:]), "a worker exited"


def test_worker_frozen_past_its_session_writes_nothing_stale(pipeline: Pipeline) -> None:
    """SIGSTOP one of two workers for longer than the session: the group moves its partitions; resumed, it must
    not insert the batch it held (the fence sees the stall), and it rejoins."""
    started = time.monotonic()
    calls = call_load(3000, seed=5)
    payments = postings(200, seed=5)
    procs = [pipeline.start_worker(i, **SLOW_COMMIT) for i in range(2)]
    count = "SELECT count() FROM call_events"
    feeder = Feeder(pipeline, [*calls[: len(calls) // 2], *payments, *calls[len(calls) // 2:]],
                    chunk=400, pause_s=0.6).start()
    pipeline.wait_for(lambda: pipeline.scalar(count) > len(calls) // 4, timeout=120, what="a quarter stored")
    procs[0].send_signal(signal.SIGSTOP)
    time.sleep(pipeline.settings.kafka.session_timeout_s * 2.5)
    procs[0].send_signal(signal.SIGCONT)
    feeder.join()
    _check_exact(pipeline, "2 workers, one frozen past its session", calls, payments, feeder, started)
    assert all(p.poll() is None for p in procs), "a worker exited"


def _check_exact(pipeline: Pipeline, name: str, calls: list[CallEvent], payments: list[InvoicePosting],
                 feeder: Feeder, started: float) -> None:
    expected = {"call_events": len(calls), "invoice_postings": len(payments), "dead_letters": feeder.corrupt_sent}

    def all_stored() -> bool:
        return all(t.distinct >= t.expected for t in exactness(pipeline, expected) if t.expected is not None)

    pipeline.wait_for(all_stored, timeout=150, what="every event and dead letter")
    time.sleep(4)  # a late duplicate from a fenced-off worker would land now
    tallies = exactness(pipeline, {**expected, "findings": None, "alerts": None})
    FaultReport(name, len(calls) + len(payments) + feeder.corrupt_sent,
                sum(t.rows for t in tallies if t.expected is not None), sum(t.lost for t in tallies),
                sum(t.duplicated for t in tallies), time.monotonic() - started).print()
    for t in tallies:
        print(f"  {t.table}: rows {t.rows}, distinct {t.distinct}, expected {t.expected}")
        assert t.rows == t.distinct, f"{t.table}: {t.duplicated} duplicated rows"
        if t.expected is not None:
            assert t.rows == t.expected, t.table
    # The sink process stores the raw rows; the workers' rule agents read the same topics in their own group and
    # may still be rejoining after the kill: their findings are waited for, then counted exactly (no duplicate).
    suspense = sum(1 for p in payments if p.account == "9894")
    sql = "SELECT count() FROM findings WHERE rule_id = 'gl.suspense_posting'"
    pipeline.wait_for(lambda: pipeline.scalar(sql) >= suspense, timeout=120, what="the suspense findings")
    time.sleep(2)  # a late duplicate finding would land now
    assert pipeline.scalar(sql) == suspense
    assert pipeline.scalar("SELECT count() FROM dead_letters WHERE kind = 'undecodable'") == feeder.corrupt_sent
    assert service_level_mismatches(pipeline, calls) == []
    logs = pipeline.worker_logs()
    print("  " + ", ".join(f"{what}: {logs.count(what)}" for what in (
        "partitions assigned", "batch fenced off", "no longer assigned here", "frozen past its session",
        "replay guard skipped")))
    assert "sink write failed" not in logs
