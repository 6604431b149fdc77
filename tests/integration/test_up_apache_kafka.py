"""Durable runs on Apache Kafka: `up --broker apache-kafka --demo` fills every raw table; Ctrl-C; started again the
demo goes on where it stopped, with no row lost or doubled (counted without FINAL), and `status` shows the lag."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest

from servicepulse.config import DevstackSettings
from servicepulse.connectors.clickhouse import scalar_int
from servicepulse.devstack.broker import free_port
from servicepulse.devstack.kafka import missing_tools
from servicepulse.streams.sink import TABLES
from tests.factories.events import HUMAN_INPUT_TABLES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(600),
    pytest.mark.skipif(
        os.environ.get("SERVICEPULSE_TEST_BROKER", "both") == "tansu", reason="SERVICEPULSE_TEST_BROKER=tansu"
    ),
]

# The event each input row stands for: one row per identity, however often the pipeline restarts.
IDENTITY = {
    "call_events": "event_id", "invoice_postings": "event_id", "payroll_runs": "event_id",
    "payroll_lines": "event_id", "complaints": "event_id", "cases": "event_id",
    "dead_letters": "(source_topic, source_partition, source_offset)",
}


@pytest.fixture(scope="module", autouse=True)
def _needs_java() -> None:
    reason = missing_tools(DevstackSettings().kafka_cache_dir)
    if reason is not None:
        pytest.skip(f"Apache Kafka not tested: {reason}")


class Up:
    """`servicepulse up --broker apache-kafka --demo` in tmp_path (so its run directory is tmp_path/var)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.kafka_port, self.store_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA", "CLICKHOUSE", "SINK", "WORKER"))}
        self.env = env | {"KAFKA__EMBEDDED_PORT": str(self.kafka_port),
                          "CLICKHOUSE__EMBEDDED_PORT": str(self.store_port), "LOG__FORMAT": "json"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def log(self) -> Path:
        return self.tmp_path / f"up-{self.runs}.log"

    def start(self) -> None:
        self.runs += 1
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "servicepulse.cli.main", "up", "--broker", "apache-kafka", "--demo"],
            cwd=self.tmp_path, env=self.env, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        )

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=120)
        assert code == 0, self.log.read_text()[-3000:]
        for port in (self.kafka_port, self.store_port):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after up stopped"

    def client(self) -> Any:
        return clickhouse_connect.get_client(host="127.0.0.1", port=self.store_port, database="servicepulse",
                                             compress=False)

    def wait(self, predicate: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if predicate():
                    return
            except Exception:  # the store is not up yet
                pass
            time.sleep(2)
        raise AssertionError(f"timed out waiting for {what}\n{self.log.read_text()[-3000:]}")

    def counts(self) -> dict[str, int]:
        client = self.client()
        return {s.table: scalar_int(client, f"SELECT count() FROM {s.table}") for s in TABLES.values()
                if s.table not in HUMAN_INPUT_TABLES}

    def cli(self, *args: str) -> str:
        env = self.env | {"KAFKA_BOOTSTRAP": f"127.0.0.1:{self.kafka_port}",
                          "CLICKHOUSE_URL": f"http://127.0.0.1:{self.store_port}"}
        done = subprocess.run([sys.executable, "-m", "servicepulse.cli.main", *args], env=env, capture_output=True,
                              text=True, timeout=120, cwd=self.tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout


def assert_no_row_doubled(up: Up) -> dict[str, int]:
    """Every input row once: count() without FINAL equals the number of distinct identities."""
    client, distinct = up.client(), {}
    for table, identity in IDENTITY.items():
        rows = scalar_int(client, f"SELECT count() FROM {table}")
        distinct[table] = scalar_int(client, f"SELECT uniqExact({identity}) FROM {table}")
        assert rows == distinct[table], f"{table}: {rows} rows for {distinct[table]} events"
    return distinct


def produced_by_first_run(var: Path) -> dict[str, set[str]]:
    """The event ids of the demo feed up to the clock its resume file names (same seed, start and scale as `up`)."""
    from datetime import date, datetime, timedelta

    from servicepulse.cli.run import PLANT_DAYS
    from servicepulse.simulator import STOCKHOLM, SimConfig, Simulator

    start = date.fromisoformat(json.loads((var / "demo.json").read_text())["start"])
    through = datetime.fromisoformat(json.loads((var / "demo-state.json").read_text())["through"])
    first = datetime.combine(start, datetime.min.time(), STOCKHOLM)
    days = 35  # up's default --days
    sim = Simulator(SimConfig(seed=1, scale=0.1, targets_met=True, plant_breaches=days >= PLANT_DAYS), first,
                    first + timedelta(days=days))
    tables = {spec.model: spec.table for spec in TABLES.values()}
    out: dict[str, set[str]] = {}
    for event in sim.advance(through):
        out.setdefault(tables[type(event)], set()).add(str(event.event_id))  # type: ignore[attr-defined]
    return out


def test_up_on_apache_kafka_survives_a_restart_without_losing_or_doubling(tmp_path: Path) -> None:
    up = Up(tmp_path)
    var = tmp_path / "var"
    started = time.monotonic()
    up.start()
    try:
        up.wait(lambda: all(up.counts().values()), 240, "every raw table filled")
        print(f"every raw table had rows after {time.monotonic() - started:.0f}s: {up.counts()}")
        # The planted payroll run loads once per broker: stop after it is in, as a user would see it complete.
        up.wait(lambda: (var / "demo-payroll" / ".loaded").exists(), 300, "payroll plant loaded")
    finally:
        up.stop()
    assert (var / "kafka" / "log" / "meta.properties").exists()
    assert (var / "demo-state.json").exists()
    plant_log = (var / "logs" / "payroll-plant.log").stat().st_size
    produced = produced_by_first_run(var)

    up.start()
    try:
        up.wait(lambda: bool(up.counts()["call_events"]), 120, "the store again")
        before = {t: scalar_int(up.client(), f"SELECT count() FROM {t}") for t in IDENTITY}
        # The demo goes on from where it stopped.
        up.wait(lambda: up.counts()["call_events"] > before["call_events"], 240, "new call events")
        assert "resuming after" in (var / "logs" / "simulator.log").read_text()
        assert "watermarks are reset" not in up.log.read_text(), up.log.read_text()[-3000:]
        assert (var / "logs" / "payroll-plant.log").stat().st_size == plant_log, "payroll plant loaded twice"
        status = [json.loads(line) for line in up.cli("status", "--format", "json").splitlines()]
        offsets = [r for r in status if "lag" in r]
        assert offsets and any(r["committed"] is not None for r in offsets), status
        for r in offsets:
            assert r["lag"] is None or r["lag"] == r["end_offset"] - r["committed"] >= 0, r
        time.sleep(10)  # what the restarted workers redeliver and the replay guard skips would land now
        print(f"second run: {assert_no_row_doubled(up)}")
    finally:
        up.stop()
    # Both runs together, with everything flushed on stop: nothing lost, nothing doubled.
    from servicepulse.devstack.stack import start_store

    store = start_store(var / "chdb", up.store_port, tmp_path / "store-after.log")
    try:
        after = assert_no_row_doubled(up)
        assert all(after[t] >= n for t, n in before.items()), (before, after)
        # Every event the first run's feed produced (all of them up to the clock of its resume file) is stored.
        client = up.client()
        for table, ids in produced.items():
            stored = {r[0] for r in client.query(f"SELECT event_id FROM {table}").result_rows}
            assert ids <= stored, f"{table}: {len(ids - stored)} of {len(ids)} first-run events lost"
        print(f"first run's feed: { {t: len(i) for t, i in produced.items()} }, all stored once")
        print(f"after both runs: {after}")
    finally:
        store.send_signal(signal.SIGTERM)
        store.wait(timeout=30)
