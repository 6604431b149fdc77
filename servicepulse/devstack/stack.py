"""An embedded broker and store on free loopback ports, for tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .broker import free_port, wait_for_port

__all__ = ["EmbeddedStore", "LocalStack", "embedded_stack", "environ", "module_command", "start_store"]


class EmbeddedStore:
    """The store process of an embedded stack, with what the fault suite does to it: freeze it (SIGSTOP), thaw
    it, kill it (SIGKILL) and start it again on the same data directory and port."""

    def __init__(self, data_dir: Path, port: int, log_path: Path) -> None:
        self.data_dir, self.port, self.log_path = data_dir, port, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("the store is not running")
        return self.proc.pid

    def start(self) -> None:
        self.proc = start_store(self.data_dir, self.port, self.log_path)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def freeze(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def ensure_running(self, timeout_s: float = 60.0) -> None:
        """Thaw a frozen store, restart a dead one, and wait until it answers a query."""
        self.thaw()
        if not self.alive():
            self.start()
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/?query=SELECT%201", timeout=5) as answer:
                    if answer.read().strip() == b"1":
                        return
            except urllib.error.HTTPError:
                return  # it answers (a store with authentication refuses an anonymous query)
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the store on port {self.port} does not answer")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.thaw()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@dataclass(frozen=True)
class LocalStack:
    bootstrap: str
    clickhouse_url: str
    store: EmbeddedStore | None = None


@contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    """The process environment is exactly `env` inside the block, and what it was afterwards: how a test or a
    benchmark reads a pipeline's settings (`load_settings`) or runs a CLI function in-process for its own stack."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


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
    store = EmbeddedStore(run_dir / "chdb", free_port(), run_dir / "store.log")
    try:
        store.start()
        yield LocalStack(broker.bootstrap, f"http://127.0.0.1:{store.port}", store)
    finally:
        store.stop()
        broker.stop()
