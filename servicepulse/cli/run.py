"""`up` (the whole embedded stack in the foreground) and `worker` (one Faust worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import typer

from .common import console, fail, settings_and_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command(help="Start broker, store, workers (and the demo feed) in the foreground; Ctrl-C stops all.")(up)
    app.command(help="Run one Faust worker (used by `up`, docker compose and Kubernetes).")(worker)


def worker(index: int = typer.Option(0, help="Worker number; picks the web port and state directory")) -> None:
    import faust

    from servicepulse.streams.app import build_app

    settings = settings_and_logging()
    app = build_app(settings, worker_index=index)
    faust.Worker(app, loglevel=settings.log.level.lower(), quiet=True).execute_from_commandline()


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
    run_dir: Path = typer.Option(Path("var"), help="Logs and the embedded store live here"),
) -> None:
    from servicepulse.connectors.clickhouse import connect, migrate, wait_for_clickhouse
    from servicepulse.connectors.kafka import ensure_topics, wait_for_kafka
    from servicepulse.devstack.broker import EmbeddedBroker
    from servicepulse.devstack.stack import start_store

    settings = settings_and_logging()
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
    broker: EmbeddedBroker | None = None
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
            broker = EmbeddedBroker(settings.kafka.embedded_port, log_file=logs / "broker.log")
            try:
                broker.start()
            except TimeoutError as exc:
                fail(f"embedded broker did not start: {exc} (is port {settings.kafka.embedded_port} taken?)")
            env["KAFKA_BOOTSTRAP"] = broker.bootstrap
        wait_for_kafka(settings.kafka)
        if settings.clickhouse.url is None:
            data_dir = run_dir / "chdb"
            store = start_store(data_dir, settings.clickhouse.embedded_port, logs / "store.log")
            env["CLICKHOUSE_URL"] = settings.clickhouse.url_or_embedded()
        wait_for_clickhouse(settings.clickhouse)
        migrate(settings.clickhouse, parameters=settings.parameters())
        if broker is not None:
            # The embedded broker forgets topics and offsets on restart; offsets the store remembers from an
            # earlier broker would make the replay guard drop new messages.
            connect(settings.clickhouse).command("TRUNCATE TABLE sink_watermarks")
        ensure_topics(settings.kafka)
        env["KAFKA__PARTITIONS"] = str(settings.kafka.partitions)
        env.setdefault("WORKER__DATA_DIR", str(run_dir / "faust"))
        env.setdefault("WORKER__HEALTH_DIR", str(run_dir / "health"))
        for i in range(workers):
            children[f"worker-{i}"] = _spawn(
                ["servicepulse.cli.main", "worker", "--index", str(i)], env, logs / f"worker-{i}.log"
            )
        if demo:
            # The feed meets every SLA target; the planted SLA breaches (ground truth in var/demo-sla-truth.json)
            # are each exactly one `contact.*` / `complaints.*` alert, and nothing else is one (with >= 14 days).
            children["simulator"] = _spawn(
                ["servicepulse.cli.main", "simulate", "--days", str(days), "--scale", str(scale),
                 "--seed", str(seed), "--follow", "--speed", str(speed), "--replay-days", str(replay_days),
                 "--faults", "0.001", "--targets-met"]
                + (["--plant-breaches", "--truth", str(run_dir / "demo-sla-truth.json")] if days >= PLANT_DAYS else []),
                env, logs / "simulator.log",
            )
            # A main run with every payroll deviation planted (ground truth in var/demo-payroll/): score it
            # with `servicepulse controls score var/demo-payroll/ground-truth.json`.
            children["payroll-plant"] = _spawn(
                ["servicepulse.cli.main", "controls", "plant", "--out", str(run_dir / "demo-payroll"),
                 "--seed", str(seed)],
                env, logs / "payroll-plant.log",
            )
        console.print(
            f"[bold green]servicepulse is up[/]: kafka {env.get('KAFKA_BOOTSTRAP', settings.kafka.bootstrap)}, "
            f"clickhouse {settings.clickhouse.url_or_embedded()}, {workers} worker(s)"
            + (", demo feed on" if demo else "")
            + f". Logs in {logs}/. Try: servicepulse sql \"SELECT count() FROM call_events\". Ctrl-C stops."
        )
        restarts: dict[str, float] = {}
        while not stopping:
            time.sleep(0.5)
            if broker is not None and not broker.alive():
                fail("the embedded broker stopped; see var/logs/broker.log")
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
                if not name.startswith("worker-"):
                    del children[name]
                    if code != 0:
                        console.print(f"[red]{name} exited with {code}; see {logs}/{name}.log[/]")
                    continue
                # A worker that stopped on a failed write is restarted; its batch is redelivered and the
                # replay guard keeps the tables exact. Back off when it keeps failing.
                wait = 2.0 if time.monotonic() - restarts.get(name, 0.0) > 60 else 15.0
                console.print(f"[yellow]{name} exited with {code}; restarting in {wait:.0f}s[/]")
                time.sleep(wait)
                restarts[name] = time.monotonic()
                children[name] = _spawn(
                    ["servicepulse.cli.main", "worker", "--index", name.split("-")[1]], env, logs / f"{name}.log"
                )
    finally:
        console.print("stopping ...")
        for proc in children.values():
            _stop(proc)
        _stop(store)
        if broker is not None:
            broker.stop()
        console.print("stopped")
