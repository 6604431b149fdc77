"""`up` (the whole embedded stack in the foreground) and `worker` (one Faust worker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import SecretStr

from servicepulse.config import DEMO_PSEUDONYM_KEY, MissingSecret, Settings

from .broker import BrokerKind, start_local_broker
from .common import console, fail, settings_and_logging

if TYPE_CHECKING:
    from servicepulse.devstack.kafka import LocalBroker

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command(help="Start broker, store, workers (and the demo feed) in the foreground; Ctrl-C stops all.")(up)
    app.command(help="Run one Faust worker (used by `up`, docker compose and Kubernetes).")(worker)
    app.command(help="Run one sink process: every topic into ClickHouse, exactly once (used by `up`).")(sink)


def worker(index: int = typer.Option(0, help="Worker number; picks the web port and state directory")) -> None:
    import faust

    from servicepulse.streams.app import build_app

    settings = settings_and_logging()
    _refuse_demo_key(settings)
    app = build_app(settings, worker_index=index)
    faust.Worker(app, loglevel=settings.log.level.lower(), quiet=True).execute_from_commandline()


def sink(index: int = typer.Option(0, help="Sink number; names its health file (sink-<index>.json)")) -> None:
    from servicepulse.connectors.serde import WireCodec, build_registry
    from servicepulse.streams.sink_process import SinkProcess

    settings = settings_and_logging()
    codec = WireCodec(build_registry(settings.registry.url, settings.registry.file))
    SinkProcess(settings, codec, index).run()


def sink_processes(settings: Settings) -> int:
    """How many sink processes `up` starts: SINK__PROCESSES, or one per core; none when the workers sink."""
    if settings.sink.in_worker:
        return 0
    return settings.sink.processes or os.cpu_count() or 1


def _refuse_demo_key(settings: Settings) -> None:
    try:
        settings.require_safe_pseudonym_key()
    except MissingSecret as exc:
        fail(str(exc))


def _require_free_port(host: str, port: int, what: str, setting: str) -> None:
    """`up` only uses a broker or store it started itself: one already on the port may hold other data (and
    `up` truncates `sink_watermarks` in its store)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            fail(f"port {port} ({what}) is taken by another process: `up` only uses a {what} it starts itself. "
                 f"Stop that process, or set {setting} to a free port.")


def _spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    from servicepulse.devstack.stack import module_command

    log_file = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        module_command(*args), env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# The planted SLA breaches need about ten days of history (a weekend, and two working days after it).
PLANT_DAYS = 14


def up(
    workers: int = typer.Option(1, min=1, help="Number of Faust worker processes"),
    demo: bool = typer.Option(False, "--demo", help="Feed simulated events continuously"),
    partitions: int = typer.Option(None, min=1, help="Partitions per topic (default KAFKA__PARTITIONS)"),
    days: int = typer.Option(35, help="Demo: days of history before today (35 covers last month's main payroll run)"),
    replay_days: int = typer.Option(7, help="Demo: of those, the last N days are replayed at --speed"),
    scale: float = typer.Option(0.1, help="Demo: volume relative to the real administration"),
    speed: float = typer.Option(120.0, help="Demo: the replay runs at least this much faster than real time"),
    seed: int = typer.Option(1, help="Demo: simulator seed"),
    run_dir: Path = typer.Option(Path("var"), help="Logs and the embedded store (and Apache Kafka's log) live here"),
    broker_kind: BrokerKind = typer.Option(
        None, "--broker", help="Local broker when KAFKA_BOOTSTRAP is unset: tansu (memory) or apache-kafka (on disk, "
        "needs Java 17+ and Maven); default DEVSTACK__BROKER (tansu)",
    ),
) -> None:
    from servicepulse.connectors.clickhouse import migrate, wait_for_clickhouse
    from servicepulse.connectors.kafka import ensure_topics, wait_for_kafka
    from servicepulse.devstack.stack import start_store

    settings = settings_and_logging()
    # Workers check again; refusing here spares a restart loop (`--demo` gives them the demo key when none is set).
    _refuse_demo_key(settings if not demo or settings.payroll.pseudonym_key else settings.model_copy(
        update={"payroll": settings.payroll.model_copy(update={"pseudonym_key": SecretStr(DEMO_PSEUDONYM_KEY)})}))
    if partitions:
        settings = settings.model_copy(
            update={"kafka": settings.kafka.model_copy(update={"partitions": partitions})}
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ)
    if demo:
        env["SERVICEPULSE_DEMO"] = "1"  # workers and the demo commands may use the demo pseudonym key
    broker: LocalBroker | None = None
    store: subprocess.Popen[bytes] | None = None
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if settings.kafka.bootstrap is None:
            _require_free_port("127.0.0.1", settings.kafka.embedded_port, "broker", "KAFKA__EMBEDDED_PORT")
            broker = start_local_broker(settings, broker_kind, run_dir, logs / "broker.log")
            env["KAFKA_BOOTSTRAP"] = broker.bootstrap
        wait_for_kafka(settings.kafka)
        if settings.clickhouse.url is None:
            _require_free_port(settings.clickhouse.embedded_host, settings.clickhouse.embedded_port, "store",
                               "CLICKHOUSE__EMBEDDED_PORT")
            data_dir = run_dir / "chdb"
            store = start_store(data_dir, settings.clickhouse.embedded_port, logs / "store.log")
            env["CLICKHOUSE_URL"] = settings.clickhouse.url_or_embedded()
        wait_for_clickhouse(settings.clickhouse)
        migrate(settings.clickhouse, parameters=settings.parameters())
        ensure_topics(settings.kafka)
        # Tansu forgets topics and offsets on restart, Apache Kafka keeps them: ask the broker, not its kind.
        fresh_broker = _forget_reset_watermarks(settings)
        env["KAFKA__PARTITIONS"] = str(settings.kafka.partitions)
        env.setdefault("WORKER__DATA_DIR", str(run_dir / "faust"))
        env.setdefault("WORKER__HEALTH_DIR", str(run_dir / "health"))
        for i in range(workers):
            children[f"worker-{i}"] = _spawn(
                ["servicepulse.cli.main", "worker", "--index", str(i)], env, logs / f"worker-{i}.log"
            )
        sinks = sink_processes(settings)
        for i in range(sinks):
            children[f"sink-{i}"] = _spawn(
                ["servicepulse.cli.main", "sink", "--index", str(i)], env, logs / f"sink-{i}.log"
            )
        plant_done = run_dir / "demo-payroll" / ".loaded"
        if demo:
            demo_start = _demo_start(run_dir, fresh_broker, days)
            # The feed meets every SLA target; the planted SLA breaches (ground truth in var/demo-sla-truth.json)
            # are each exactly one `contact.*` / `complaints.*` alert, and nothing else is one (with >= 14 days).
            # Its resume file lets a restart on a broker that kept its topics go on where it stopped.
            children["simulator"] = _spawn(
                ["servicepulse.cli.main", "simulate", "--days", str(days), "--start", demo_start.isoformat(),
                 "--scale", str(scale), "--seed", str(seed), "--follow", "--speed", str(speed),
                 "--replay-days", str(replay_days), "--faults", "0.001", "--targets-met",
                 "--state", str(run_dir / "demo-state.json")]
                + (["--plant-breaches", "--truth", str(run_dir / "demo-sla-truth.json")] if days >= PLANT_DAYS else []),
                env, logs / "simulator.log",
            )
            # A main run with every payroll deviation planted (ground truth in var/demo-payroll/): score it
            # with `servicepulse controls score var/demo-payroll/ground-truth.json`. Loaded once per broker: a
            # second load would double its rows.
            started_marker = run_dir / "demo-payroll" / ".started"
            if fresh_broker or not started_marker.exists():
                plant_done.unlink(missing_ok=True)
                started_marker.parent.mkdir(parents=True, exist_ok=True)
                started_marker.touch()
                children["payroll-plant"] = _spawn(
                    ["servicepulse.cli.main", "controls", "plant", "--out", str(run_dir / "demo-payroll"),
                     "--seed", str(seed)],
                    env, logs / "payroll-plant.log",
                )
            elif not plant_done.exists():
                console.print("[yellow]the planted payroll run's load was interrupted last time; reload it with "
                              f"`servicepulse controls plant --out {run_dir / 'demo-payroll'}` on a fresh broker[/]")
        console.print(
            f"[bold green]servicepulse is up[/]: kafka {env.get('KAFKA_BOOTSTRAP', settings.kafka.bootstrap)}, "
            f"clickhouse {settings.clickhouse.url_or_embedded()}, {workers} worker(s), {sinks} sink process(es)"
            + (", demo feed on" if demo else "")
            + f". Logs in {logs}/. Try: servicepulse sql \"SELECT count() FROM call_events\". Ctrl-C stops."
        )
        restarts: dict[str, float] = {}
        while not stopping:
            time.sleep(0.5)
            if broker is not None and not broker.alive():
                fail(f"the local broker stopped; see {logs}/broker.log")
            if store is not None and store.poll() is not None and not stopping:
                # Restarted like a worker, on the same data and port; workers wait for it meanwhile (they back
                # off and retry, nothing is acked) and drain their backlog once it answers.
                wait = 2.0 if time.monotonic() - restarts.get("store", 0.0) > 60 else 15.0
                console.print(f"[yellow]the embedded store exited with {store.returncode}; restarting in {wait:.0f}s "
                              f"(see {logs}/store.log)[/]")
                time.sleep(wait)
                restarts["store"] = time.monotonic()
                store = start_store(run_dir / "chdb", settings.clickhouse.embedded_port, logs / "store.log")
            for name, proc in list(children.items()):
                code = proc.poll()
                if code is None or stopping:
                    continue
                if not name.startswith(("worker-", "sink-")):
                    del children[name]
                    if name == "payroll-plant" and code == 0:
                        plant_done.touch()
                    if code != 0:
                        console.print(f"[red]{name} exited with {code}; see {logs}/{name}.log[/]")
                    continue
                # A worker or sink that stopped on a failed write is restarted; its batch is redelivered and the
                # replay guard keeps the tables exact. Back off when it keeps failing.
                wait = 2.0 if time.monotonic() - restarts.get(name, 0.0) > 60 else 15.0
                console.print(f"[yellow]{name} exited with {code}; restarting in {wait:.0f}s[/]")
                time.sleep(wait)
                restarts[name] = time.monotonic()
                role, index = name.split("-")
                children[name] = _spawn(
                    ["servicepulse.cli.main", role, "--index", index], env, logs / f"{name}.log"
                )
    finally:
        console.print("stopping ...")
        # The feed first: it ends between two flushed batches and records where (the resume file).
        for name in sorted(children, key=lambda n: n != "simulator"):
            _stop(children[name])
        _stop(store)
        if broker is not None:
            broker.stop()
        console.print("stopped")


def _forget_reset_watermarks(settings: Settings) -> bool:
    """Drop the sink watermarks of partitions the broker started again from offset 0 (compared with the broker's
    own end offsets), so the replay guard does not take new messages for replays. True when the broker holds no
    message of servicepulse's topics at all (a new or memory-only broker)."""
    from servicepulse.connectors.clickhouse import connect
    from servicepulse.connectors.kafka import end_offsets, reset_partitions, topic_names

    client = connect(settings.clickhouse)
    stored = {(str(t), int(p)): int(o) for t, p, o in client.query(
        "SELECT topic, partition, max(max_offset) FROM sink_watermarks GROUP BY topic, partition").result_rows}
    ends = end_offsets(settings.kafka, {t for t, _ in stored} | set(topic_names(settings.kafka)))
    reset = reset_partitions(stored, ends)
    if reset and len(reset) == len(stored):
        client.command("TRUNCATE TABLE sink_watermarks")
    elif reset:
        pairs = ", ".join(f"('{t}', {p})" for t, p in reset)  # topic names come from the table itself
        client.command(f"ALTER TABLE sink_watermarks DELETE WHERE (topic, partition) IN ({pairs})",
                       settings={"mutations_sync": 2})
    if reset:
        console.print(f"[yellow]the broker starts {len(reset)} partition(s) from offset 0 again: their sink "
                      "watermarks are reset[/]")
    return all(high == 0 for _low, high in ends.values())


def _demo_start(run_dir: Path, fresh_broker: bool, days: int) -> date:
    """The demo's first simulated day, pinned in run_dir/demo.json so a restart regenerates the same events and the
    resume file can skip the ones already produced; a fresh broker starts a new demo (and forgets that file)."""
    import json

    pinned, state = run_dir / "demo.json", run_dir / "demo-state.json"
    if fresh_broker:
        pinned.unlink(missing_ok=True)
        state.unlink(missing_ok=True)
    if pinned.exists():
        return date.fromisoformat(json.loads(pinned.read_text(encoding="utf-8"))["start"])
    from servicepulse.domain.zone import STOCKHOLM

    start = datetime.now(STOCKHOLM).date() - timedelta(days=days)
    pinned.write_text(json.dumps({"start": start.isoformat()}) + "\n", encoding="utf-8")
    return start
