"""README's first command: `servicepulse up --demo` fills every raw table within two minutes and keeps growing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import clickhouse_connect
import pytest

from servicepulse.connectors.clickhouse import scalar_int
from servicepulse.devstack.broker import free_port
from servicepulse.domain.personal_data import redact
from servicepulse.streams.sink import TABLES
from tests.factories.events import HUMAN_INPUT_TABLES

pytestmark = pytest.mark.integration


def test_up_demo_fills_every_raw_table_and_stops_cleanly(tmp_path: Path) -> None:
    kafka_port, store_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA", "CLICKHOUSE", "SINK", "WORKER"))}
    env |= {"KAFKA__EMBEDDED_PORT": str(kafka_port), "CLICKHOUSE__EMBEDDED_PORT": str(store_port),
            "LOG__FORMAT": "json"}
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115
    started = time.monotonic()
    # The README's command with its defaults; only the ports and the run directory differ.
    up = subprocess.Popen([sys.executable, "-m", "servicepulse.cli.main", "up", "--demo"], cwd=tmp_path, env=env,
                          stdout=log, stderr=subprocess.STDOUT)
    try:
        client = None
        counts: dict[str, int] = {}
        while time.monotonic() - started < 240:
            assert up.poll() is None, (tmp_path / "up.log").read_text()
            try:
                client = client or clickhouse_connect.get_client(host="127.0.0.1", port=store_port,
                                                                 database="servicepulse", compress=False)
                counts = {s.table: scalar_int(client, f"SELECT count() FROM {s.table}") for s in TABLES.values()
                          if s.table not in HUMAN_INPUT_TABLES}
            except Exception:
                time.sleep(1)
                continue
            if all(counts.values()):
                break
            time.sleep(2)
        elapsed = time.monotonic() - started
        print(f"every raw table had rows after {elapsed:.0f}s: {counts}")
        assert all(counts.values()), f"empty tables after 240s: {counts}\n{(tmp_path / 'up.log').read_text()}"
        assert client is not None
        # The demo replays the last week; starting on a weekend it takes some seconds to reach office hours.
        first = scalar_int(client, "SELECT count() FROM call_events")
        deadline = time.monotonic() + 90
        while scalar_int(client, "SELECT count() FROM call_events") <= first and time.monotonic() < deadline:
            time.sleep(2)
        assert scalar_int(client, "SELECT count() FROM call_events") > first
        # Personal data: no personnummer (any common form, Luhn-valid) in any table but the restricted one.
        tables = [str(t) for (t,) in client.query(
            "SELECT name FROM system.tables WHERE database = 'servicepulse' AND engine NOT LIKE '%View' "
            "AND name != 'payroll_people_restricted'").result_rows]
        leaks = {}
        for table in tables:
            # CSV, not TSV: a tab between two numeric columns would read as "YYMMDD XXXX" to the scan.
            text = client.raw_query(f"SELECT * FROM `{table}` FORMAT CSV").decode("utf-8", "replace")
            if redact(text) != text:
                leaks[table] = sorted({line for line in text.splitlines() if redact(line) != line})[:3]
        print(f"personnummer scan: {len(tables)} tables, leaks {len(leaks)}")
        assert not leaks, leaks
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(timeout=90)
    assert code == 0, (tmp_path / "up.log").read_text()[-3000:]
    for port in (kafka_port, store_port):
        with __import__("socket").socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after up stopped"
    assert (tmp_path / "var" / "logs" / "worker-0.log").exists()
    logs = [*sorted((tmp_path / "var" / "logs").glob("*.log")), tmp_path / "up.log"]
    texts = {path.name: path.read_text(errors="replace") for path in logs}
    leaking = [name for name, text in texts.items() if redact(text) != text]
    print(f"personnummer scan: {len(logs)} log files, leaking {leaking}")
    assert not leaking
