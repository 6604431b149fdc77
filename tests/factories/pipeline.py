"""The integration harness: one isolated pipeline (its own topics, consumer group and database) on a backend."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servicepulse.config import Settings, Topics
from servicepulse.connectors.clickhouse import connect
from servicepulse.connectors.kafka import EventProducer
from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.devstack.stack import EmbeddedStore, module_command
from servicepulse.schemas.events import Event

__all__ = ["Backend", "Pipeline", "pipeline_env"]


@dataclass(frozen=True)
class Backend:
    bootstrap: str
    clickhouse_url: str
    name: str
    # The embedded store's process, for the fault suite (freeze, kill, restart); None for a containers backend.
    store: EmbeddedStore | None = None


def pipeline_env(backend: Backend, name: str, workdir: Path) -> dict[str, str]:
    """The environment of a pipeline named `name`: this process's, minus its Kafka/ClickHouse/sink/worker settings,
    plus the backend and a topic, consumer group and database of its own (every topic in `Topics`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA", "CLICKHOUSE", "SINK", "WORKER"))}
    env |= {
        "KAFKA_BOOTSTRAP": backend.bootstrap,
        "CLICKHOUSE_URL": backend.clickhouse_url,
        "CLICKHOUSE__DATABASE": name,
        "KAFKA__CONSUMER_GROUP": name,
        "KAFKA__PARTITIONS": "4",
        "WORKER__DATA_DIR": str(workdir / "faust"),
        "WORKER__HEALTH_DIR": str(workdir / "health"),
        "LOG__FORMAT": "json",
        "SINK__BATCH_WITHIN_S": "0.5",
        "PAYROLL__PSEUDONYM_KEY": "integration-test-pseudonym-key",
    }
    for topic in Topics.model_fields:
        env[f"KAFKA__TOPICS__{topic.upper()}"] = f"{name}-{topic.replace('_', '-')}"
    return env


class WorkerProcess(subprocess.Popen[bytes]):
    """A Faust worker and its sink process as one: a signal goes to both; it has exited when either has (the
    exit code is the first one's to exit), and waiting waits for both."""

    sink: subprocess.Popen[bytes] | None = None

    def send_signal(self, sig: int) -> None:
        super().send_signal(sig)
        if self.sink is not None:
            self.sink.send_signal(sig)

    def poll(self) -> int | None:
        code = super().poll()
        if code is None and self.sink is not None:
            return self.sink.poll()  # the worker's own returncode stays unset: it still runs
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = super().wait(timeout)
        if self.sink is not None:
            self.sink.wait(timeout)
        return code


@dataclass
class Pipeline:
    """One isolated pipeline: its own topics, consumer group and ClickHouse database."""

    env: dict[str, str]
    settings: Settings
    workdir: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    producers: list[EventProducer] = field(default_factory=list)

    @property
    def codec(self) -> WireCodec:
        return WireCodec(FileRegistry())

    def producer(self, **overrides: Any) -> EventProducer:
        producer = EventProducer(self.settings.kafka, self.codec, **overrides)
        self.producers.append(producer)  # closed at teardown, while the broker still runs
        return producer

    def client(self) -> Any:
        return connect(self.settings.clickhouse)

    def scalar(self, sql: str) -> Any:
        return self.client().command(sql)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.client().query(sql).result_rows]

    def start_worker(self, index: int = 0, **env: str) -> subprocess.Popen[bytes]:
        """A Faust worker and, unless SINK__IN_WORKER, the sink process of the same index beside it (as `up`
        runs them): one handle, whose signals reach both, so a test kills or freezes "worker i" whole."""
        n = len(self.workers)
        log = open(self.workdir / f"worker-{index}-{n}.log", "ab")  # noqa: SIM115
        proc = WorkerProcess(
            module_command("servicepulse.cli.main", "worker", "--index", str(index)),
            env=self.env | env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if (self.env | env).get("SINK__IN_WORKER", "").lower() not in ("1", "true"):
            sink_log = open(self.workdir / f"worker-{index}-{n}-sink.log", "ab")  # noqa: SIM115
            proc.sink = subprocess.Popen(
                module_command("servicepulse.cli.main", "sink", "--index", str(index)),
                env=self.env | env, stdout=sink_log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.workers.append(proc)
        return proc

    def sinks(self) -> list[subprocess.Popen[bytes]]:
        return [p.sink for p in self.workers if isinstance(p, WorkerProcess) and p.sink is not None]

    def worker_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("worker-*.log")))

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            module_command("servicepulse.cli.main", *args),
            env=self.env, capture_output=True, text=True, timeout=timeout,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"servicepulse {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 120, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            for proc in self.workers:
                if proc.poll() not in (None, -signal.SIGKILL, -signal.SIGTERM, 0):
                    raise AssertionError(f"worker exited with {proc.returncode}:\n{self.worker_logs()[-4000:]}")
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}\n--- worker logs ---\n{self.worker_logs()[-4000:]}")

    def kill_worker_mid_stream(
        self, events: Sequence[Event], kill_after: int, chunk: int, timeout: float = 180
    ) -> tuple[int, int]:
        """Feed `events` in paced chunks while a worker runs, SIGKILL it once more than `kill_after` call events
        are stored, start a new one, and wait until all are stored. Returns (rows stored at the kill, messages
        the replay guard logged as skipped). No offset is committed before the kill, so the restarted worker
        must re-read everything the first one stored: the redelivery the guard has to absorb."""
        producer = self.producer()
        storing = threading.Event()

        def feed() -> None:
            # The first chunk, then the rest only once the sink stores: the sink process takes more than the
            # whole feed to join its group, and would otherwise store everything in one go before the kill.
            for i, event in enumerate(events):
                producer.send(event)
                if i % chunk == chunk - 1:
                    producer.flush()
                    storing.wait(timeout)
                    time.sleep(0.3)
            producer.flush()

        slow_commit = {"WORKER__COMMIT_INTERVAL_S": "60", "WORKER__COMMIT_EVERY": "1000000",
                       "SINK__COMMIT_INTERVAL_S": "60"}
        first = self.start_worker(0, **slow_commit)
        feeder = threading.Thread(target=feed)
        feeder.start()
        count = "SELECT count() FROM call_events"
        self.wait_for(lambda: self.scalar(count) > 0, what="the first rows")
        storing.set()
        self.wait_for(lambda: self.scalar(count) > kill_after, what="rows before kill")
        first.send_signal(signal.SIGKILL)
        first.wait()
        stored_at_kill = int(self.scalar(count))
        self.start_worker(0, **slow_commit)
        feeder.join()
        self.wait_for(lambda: self.scalar(count) >= len(events), timeout=timeout, what="all events")
        time.sleep(3)  # a redelivered duplicate would land now: give it the time to show
        # A line may carry a prefix (Faust's logger, when it captured stderr): the JSON starts at the first brace.
        skipped = sum(int(json.loads(line[line.index("{"):])["skipped"]) for line in self.worker_logs().splitlines()
                      if "replay guard skipped" in line)
        return stored_at_kill, skipped

    def close_producers(self) -> None:
        for producer in self.producers:
            producer.close()
        self.producers.clear()

    def stop_workers(self) -> None:
        procs = [q for p in self.workers for q in (p, *([p.sink] if isinstance(p, WorkerProcess) and p.sink else []))]
        for proc in procs:
            if subprocess.Popen.poll(proc) is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                subprocess.Popen.wait(proc, timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                subprocess.Popen.wait(proc)


def open_pipeline(backend: Backend, workdir: Path, **extra_env: str) -> Pipeline:
    """A pipeline of its own on `backend`: settings read from its environment, database migrated, topics created."""
    from servicepulse.config import load_settings
    from servicepulse.connectors.clickhouse import migrate
    from servicepulse.connectors.kafka import ensure_topics
    from servicepulse.devstack.stack import environ

    env = pipeline_env(backend, "t" + uuid.uuid4().hex[:10], workdir) | extra_env
    with environ(env):
        settings = load_settings()
    migrate(settings.clickhouse)
    ensure_topics(settings.kafka)
    return Pipeline(env, settings, workdir)

