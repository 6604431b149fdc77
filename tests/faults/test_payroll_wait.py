"""A closed payroll header whose lines come long after it: the worker keeps its group and its other topics flowing."""

from __future__ import annotations

import time

import pytest

from servicepulse.simulator.payroll_planted import planted_main_run
from tests.factories.cluster import call_load, exactness
from tests.factories.faults import FaultReport
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]

# Past the rebalance timeout (20 s) and a third of the poll interval (60 s): waiting inside the batch for this
# long used to hold the revocation and the poll loop.
LINES_LATE_S = 25.0


def test_header_waits_for_late_lines_outside_the_batch(pipeline: Pipeline) -> None:
    started = time.monotonic()
    planted = planted_main_run(seed=3, employees=40)
    run_id = planted.header.run_id
    pipeline.start_worker()
    producer = pipeline.producer()
    producer.send(planted.header)
    producer.flush()
    sent_header = time.monotonic()
    time.sleep(3)
    # While the header waits, calls flow as usual: the header agent is not blocked, nor is the worker.
    calls = call_load(300, seed=3)
    for event in calls:
        producer.send(event)
    producer.flush()
    # The sink process joins its group on its own (tens of seconds on a loaded 2-core machine): not 30 s.
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM call_events") == len(calls), timeout=120,
                      what="calls stored while the header waits")
    checks = f"SELECT count() FROM payroll_run_checks WHERE run_id = '{run_id}'"
    assert pipeline.scalar(checks) == 0, "checked before its lines"
    time.sleep(max(0.0, LINES_LATE_S - (time.monotonic() - sent_header)))
    for line in planted.lines:
        producer.send(line)
    producer.flush()
    pipeline.wait_for(lambda: pipeline.scalar(checks) > 0, timeout=120, what="the run checked")
    expected, seen = pipeline.rows(
        f"SELECT line_count, lines_seen FROM payroll_run_checks WHERE run_id = '{run_id}'")[0]
    tally = exactness(pipeline, {"call_events": len(calls)})[0]
    # The check saw every line stored; the header is stored by the sink process on its own: waited for too.
    rows_sql = "SELECT (SELECT count() FROM payroll_lines) + (SELECT count() FROM payroll_runs)"
    pipeline.wait_for(lambda: int(pipeline.scalar(rows_sql)) >= len(planted.lines) + 1, timeout=60,
                      what="the run's header and lines stored")
    time.sleep(2)  # a late duplicate would land now
    payroll_rows = int(pipeline.scalar(rows_sql))
    FaultReport("payroll lines 25 s after their closed header", len(calls) + len(planted.lines) + 1,
                tally.rows + payroll_rows, tally.lost, tally.duplicated, time.monotonic() - started).print()
    assert payroll_rows == len(planted.lines) + 1
    assert expected == seen == len(planted.lines)
    logs = pipeline.worker_logs()
    assert "payroll run closed; checked once its lines are stored" in logs
    assert "UnknownMemberId" not in logs and "checked before all its lines" not in logs
    assert logs.count('"partitions assigned"') == 1, "the worker left its group while the header waited"
