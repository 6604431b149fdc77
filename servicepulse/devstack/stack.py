"""An embedded broker and store on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .broker import free_port, wait_for_port

__all__ = ["LocalStack", "embedded_stack", "module_command", "start_store"]


@dataclass(frozen=True)
class LocalStack:
    bootstrap: str
    clickhouse_url: str


def module_command(module: str, *args: str) -> list[str]:
    """`python -P -m module args...` with this interpreter: the child imports the installed servicepulse.

    Without -P (Python 3.11+) the child puts its working directory first on sys.path, so started from inside a
    checkout with a non-editable install it would import the checkout's `servicepulse/` folder, which lacks the
    packages pyproject.toml maps from top-level folders (`streams`, `connectors`, `schemas`).
    """
    return [sys.executable, "-P", "-m", module, *args]


def start_store(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """The chdb store in its own process: chdb allows one process per data directory (measured)."""
    proc = subprocess.Popen(
        module_command("servicepulse.devstack.store_server", "--data-dir", str(data_dir), "--port", str(port)),
        stdout=open(log_path, "ab"),  # noqa: SIM115 - handed to the child
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout_s=60)
    except TimeoutError:
        proc.kill()
        raise
    return proc


@contextmanager
def embedded_stack(run_dir: Path, broker_kind: str = "tansu") -> Iterator[LocalStack]:
    """Broker (Tansu, or Apache Kafka with its log under run_dir/kafka) and store on free ports."""
    from servicepulse.config import DevstackSettings

    from .kafka import local_broker

    run_dir.mkdir(parents=True, exist_ok=True)
    broker = local_broker(broker_kind, free_port(), DevstackSettings(), run_dir, log_file=run_dir / "broker.log")
    broker.start()
    store = None
    try:
        port = free_port()
        store = start_store(run_dir / "chdb", port, run_dir / "store.log")
        yield LocalStack(broker.bootstrap, f"http://127.0.0.1:{port}")
    finally:
        if store is not None:
            store.send_signal(signal.SIGTERM)
            try:
                store.wait(timeout=30)
            except subprocess.TimeoutExpired:
                store.kill()
        broker.stop()
