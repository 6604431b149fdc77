"""`servicepulse health` on health files written here, in the worker's and the sink process's format (the probes'
command)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from servicepulse.cli.health import DEFAULT_HEALTH_DIR, check_health, health_dir
from servicepulse.cli.main import app


def record(**changes: Any) -> dict[str, Any]:
    now = time.time()
    base: dict[str, Any] = {
        "worker": 0, "pid": os.getpid(), "updated_at": now, "status": "ok", "last_insert_at": now - 4,
        "outage_since": None, "outage_s": 0.0, "outage_error": None, "outage_attempts": 0,
        "partitions": [["call-events", 0], ["call-events", 1]], "rebalance_epoch": 3,
    }
    return base | changes


@pytest.fixture
def health_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORKER__HEALTH_DIR", str(tmp_path))
    return tmp_path


def write(directory: Path, data: dict[str, Any] | str, worker: int = 0, process: str = "worker") -> None:
    text = data if isinstance(data, str) else json.dumps(data)
    (directory / f"{process}-{worker}.json").write_text(text, encoding="utf-8")


def sink_record(**changes: Any) -> dict[str, Any]:
    """The sink process's health file: the worker's format, marked with its role, partitions as a count."""
    return record(role="sink", partitions=6) | changes


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["health", *args])
    return result.exit_code, result.output


def test_a_fresh_healthy_file_passes_with_a_summary(health_files: Path) -> None:
    write(health_files, record())
    code, out = run("--max-outage", "60")
    assert code == 0, out
    assert out.startswith("worker 0 ok, updated ") and "2 partitions" in out and out.count("\n") == 1


def test_a_stale_file_means_a_stuck_worker(health_files: Path) -> None:
    write(health_files, record(updated_at=time.time() - 45))
    code, out = run("--max-age", "30")
    assert code == 1
    assert "not rewritten for 45 s (max 30 s)" in out and "stuck" in out and out.count("\n") == 1


def test_a_missing_file_fails_and_names_the_path(health_files: Path) -> None:
    write(health_files, record(), worker=0)
    code, out = run("--worker", "2")
    assert code == 1 and str(health_files / "worker-2.json") in out.replace("\n", "")


def test_the_worker_option_picks_the_file(health_files: Path) -> None:
    write(health_files, record(updated_at=time.time() - 100), worker=0)
    write(health_files, record(worker=1), worker=1)
    assert run("--worker", "1")[0] == 0
    assert run("--worker", "0")[0] == 1


@pytest.mark.parametrize("text", ["", "{\"worker\": 0, \"updated", "[1, 2]", "{\"worker\": 0}"])
def test_an_unreadable_or_incomplete_file_fails(health_files: Path, text: str) -> None:
    write(health_files, text)
    code, out = run()
    assert code == 1 and out.strip() and out.count("\n") == 1


def test_a_store_outage_fails_readiness_only_when_long(health_files: Path) -> None:
    now = time.time()
    short = record(status="waiting for the store", outage_since=now - 20, outage_s=20.0,
                   outage_error="Connection refused", outage_attempts=4)
    write(health_files, short)
    assert run("--max-outage", "60")[0] == 0
    long = short | {"outage_since": now - 75, "outage_s": 75.0, "outage_attempts": 12,
                    "outage_error": "HTTPConnectionPool: Connection refused\nTraceback ..."}
    write(health_files, long)
    code, out = run("--max-outage", "60")
    assert code == 1
    assert out == ("worker 0: waiting for the store for 75 s (max 60 s, 12 attempts): "
                   "HTTPConnectionPool: Connection refused\n")
    # Liveness (no --max-outage): a worker waiting for the store is alive; restarting it would not help.
    assert run()[0] == 0


def test_the_outage_is_measured_from_its_start_when_the_duration_lags() -> None:
    now = 1_000_000.0
    data = record(updated_at=now - 1, status="waiting for the store", outage_since=now - 90, outage_s=10.0)
    reason = check_health(data, now, max_age_s=30, max_outage_s=60)
    assert reason is not None and "for 90 s" in reason


def test_a_status_other_than_ok_without_any_duration_is_not_ready() -> None:
    now = 1_000_000.0
    data = record(updated_at=now, status="waiting for the store", outage_since=None, outage_s=None)
    assert check_health(data, now, 30, 60) == "worker 0: status 'waiting for the store' with no outage duration"
    assert check_health(data, now, 30) is None


def test_a_file_left_by_a_process_that_is_gone_fails() -> None:
    now = 1_000_000.0
    data = record(updated_at=now, pid=4242)
    assert check_health(data, now, 30, pid_alive=lambda pid: pid != 4242) == \
        "worker 0: process 4242 that wrote the health file is gone"
    assert check_health(data, now, 30, pid_alive=lambda pid: True) is None


def test_the_directory_defaults_to_var_health(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKER__HEALTH_DIR", raising=False)
    assert health_dir() == DEFAULT_HEALTH_DIR == Path("var/health")
    monkeypatch.setenv("WORKER__HEALTH_DIR", "/srv/health")
    assert health_dir() == Path("/srv/health")


def test_process_sink_reads_the_sink_processes_file(health_files: Path) -> None:
    write(health_files, record(updated_at=time.time() - 100), worker=1)  # a stuck worker 1 must not answer for it
    write(health_files, sink_record(worker=1), worker=1, process="sink")
    code, out = run("--process", "sink", "--index", "1", "--max-outage", "60")
    assert code == 0, out
    assert out.startswith("sink 1 ok, updated ") and "6 partitions" in out and out.count("\n") == 1
    assert run("--index", "1")[0] == 1  # the worker's file, as before


def test_a_stale_sink_file_fails_with_its_name(health_files: Path) -> None:
    write(health_files, record(), worker=0)
    write(health_files, sink_record(updated_at=time.time() - 45), process="sink")
    code, out = run("--process", "sink", "--max-age", "30")
    assert code == 1 and out.startswith("sink 0: health file not rewritten for 45 s"), out


def test_a_missing_sink_file_fails_and_names_the_path(health_files: Path) -> None:
    write(health_files, record(), worker=0)
    code, out = run("--process", "sink")
    assert code == 1 and out.startswith("sink 0: no health file") and \
        str(health_files / "sink-0.json") in out.replace("\n", "")


def test_a_sink_waiting_for_the_store_is_alive_but_not_ready(health_files: Path) -> None:
    now = time.time()
    write(health_files, sink_record(status="waiting for the store", outage_since=now - 90, outage_s=90.0,
                                    outage_error="Connection refused", outage_attempts=9), process="sink")
    assert run("--process", "sink")[0] == 0
    code, out = run("--process", "sink", "--max-outage", "60")
    assert code == 1 and out.startswith("sink 0: waiting for the store for 90 s"), out


def test_a_file_of_the_other_role_is_refused(health_files: Path) -> None:
    write(health_files, record(), process="sink")  # a worker's document under the sink's name
    code, out = run("--process", "sink")
    assert code == 1 and "written by a worker process, not a sink" in out.replace("\n", " ")


def test_an_unknown_process_kind_is_a_usage_error(health_files: Path) -> None:
    write(health_files, record())
    assert run("--process", "simulator")[0] == 2
