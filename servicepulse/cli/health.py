"""`health`: exit 0 when a worker's or sink process's health file is fresh (and its store reachable), 1 with a
one-line reason."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

__all__ = ["DEFAULT_HEALTH_DIR", "Process", "check_health", "health_dir", "health_file", "register"]

# The worker rewrites `worker-<index>.json` in this directory every WORKER__HEALTH_INTERVAL_S (2 s) from its event
# loop, the sink process `sink-<index>.json` from its ticker thread: a file that stops changing means the process
# is stuck (or frozen), even while it is alive.
DEFAULT_HEALTH_DIR = Path("var/health")


class Process(StrEnum):
    """Which kind of process a health file belongs to; names the file (`<process>-<index>.json`)."""

    worker = "worker"
    sink = "sink"


def register(app: typer.Typer) -> None:
    app.command(help="Exit 0 when a worker's (or, with --process sink, a sink process's) health file is fresh and "
                "healthy, 1 with the reason otherwise (the container probes use it).")(health)


def health_dir() -> Path:
    """WORKER__HEALTH_DIR as Settings reads it when Settings has the field; otherwise the variable or the default."""
    from servicepulse.config import WorkerSettings, load_settings

    if "health_dir" in WorkerSettings.model_fields:
        return Path(getattr(load_settings().worker, "health_dir"))  # noqa: B009 (a field this module cannot name)
    return Path(os.environ.get("WORKER__HEALTH_DIR") or DEFAULT_HEALTH_DIR)


def health_file(directory: Path, index: int, process: Process = Process.worker) -> Path:
    return directory / f"{process.value}-{index}.json"


def _name(record: Mapping[str, Any]) -> str:
    """`worker 0` or `sink 0`: the sink process marks its file with role "sink" (it shares the worker's format)."""
    role = record.get("role")
    return f"{role if isinstance(role, str) and role else 'worker'} {record.get('worker', '?')}"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def check_health(
    record: Mapping[str, Any], now: float, max_age_s: float, max_outage_s: float | None = None,
    pid_alive: Callable[[int], bool] = _pid_alive,
) -> str | None:
    """None when the worker (or sink process) is healthy, else the reason in one line.

    Alive (liveness): the file was rewritten within `max_age_s` by a process that still exists. Ready (readiness,
    with `max_outage_s`): also not waiting for ClickHouse longer than that. A store outage alone never fails
    liveness: the worker is waiting on purpose, and a restart would not bring the store back.
    """
    name = _name(record)
    updated = _number(record.get("updated_at"))
    if updated is None:
        return f"{name}: health file has no numeric updated_at"
    age = now - updated
    if age > max_age_s:
        return (f"{name}: health file not rewritten for {age:.0f} s (max {max_age_s:g} s): "
                "its event loop is stuck or it has stopped")
    pid = record.get("pid")
    if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and not pid_alive(pid):
        return f"{name}: process {pid} that wrote the health file is gone"
    if max_outage_s is None:
        return None
    status = record.get("status")
    if status == "ok":
        return None
    durations = [_number(record.get("outage_s"))]
    since = _number(record.get("outage_since"))
    if since is not None:
        durations.append(now - since)
    known = [d for d in durations if d is not None]
    if not known:
        return f"{name}: status {status!r} with no outage duration"
    outage = max(known)
    if outage <= max_outage_s:
        return None
    error = str(record.get("outage_error") or "no error recorded").splitlines()[0][:200]
    attempts = record.get("outage_attempts")
    tries = f", {attempts} attempts" if isinstance(attempts, int) else ""
    return f"{name}: {status} for {outage:.0f} s (max {max_outage_s:g} s{tries}): {error}"


def _summary(record: Mapping[str, Any], now: float) -> str:
    parts = [f"{_name(record)} {record.get('status', '?')}"]
    updated = _number(record.get("updated_at"))
    if updated is not None:
        parts.append(f"updated {now - updated:.1f} s ago")
    last = _number(record.get("last_insert_at"))
    if last is not None:
        parts.append(f"last insert {now - last:.0f} s ago")
    partitions = record.get("partitions")
    if isinstance(partitions, list | int):
        parts.append(f"{len(partitions) if isinstance(partitions, list) else partitions} partitions")
    return ", ".join(parts)


def health(
    index: int = typer.Option(0, "--index", "--worker",
                              help="Process index (`servicepulse worker --index` / `servicepulse sink --index`)"),
    process: Process = typer.Option(Process.worker, "--process", help="worker (worker-N.json) or sink (sink-N.json)"),
    max_age: float = typer.Option(30.0, help="Seconds after which an unchanged health file means a stuck process"),
    max_outage: float | None = typer.Option(
        None, help="Also fail when the process has waited for ClickHouse longer than this (readiness)"),
) -> None:
    label = f"{process.value} {index}"
    path = health_file(health_dir(), index, process)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        typer.echo(f"{label}: no health file at {path}: not started yet, or WORKER__HEALTH_DIR differs", err=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError) as exc:
        typer.echo(f"{label}: health file {path} unreadable: {exc}", err=True)
        raise typer.Exit(1) from None
    if not isinstance(record, dict):
        typer.echo(f"{label}: health file {path} is not a JSON object", err=True)
        raise typer.Exit(1)
    role = record.get("role") or Process.worker.value  # the worker's file has no role
    if role != process.value:
        typer.echo(f"{label}: health file {path} was written by a {role} process, not a {process.value}", err=True)
        raise typer.Exit(1)
    now = time.time()
    reason = check_health(record, now, max_age, max_outage)
    if reason is not None:
        typer.echo(reason, err=True)
        raise typer.Exit(1)
    typer.echo(_summary(record, now))
