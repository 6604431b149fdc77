"""`broker`: the local Kafka broker on its own, in the foreground (Tansu in memory, or Apache Kafka on disk)."""

from __future__ import annotations

import signal
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import console, fail, settings_and_logging

if TYPE_CHECKING:
    from servicepulse.config import Settings
    from servicepulse.devstack.kafka import LocalBroker

__all__ = ["BrokerKind", "register", "start_local_broker"]


class BrokerKind(StrEnum):
    tansu = "tansu"
    apache_kafka = "apache-kafka"


def register(app: typer.Typer) -> None:
    app.command(help="Run the local broker alone in the foreground (Ctrl-C stops it); `up` starts it with the rest.")(
        broker
    )


def start_local_broker(
    settings: Settings, kind: BrokerKind | None, run_dir: Path, log_file: Path | None
) -> LocalBroker:
    """Start the broker `kind` (default DEVSTACK__BROKER) on KAFKA__EMBEDDED_PORT; a missing tool is a clear error."""
    from servicepulse.devstack.kafka import BrokerToolsMissing, local_broker

    chosen = kind.value if kind is not None else settings.devstack.broker
    broker = local_broker(chosen, settings.kafka.embedded_port, settings.devstack, run_dir, log_file)
    try:
        broker.start(settings.devstack.start_timeout_s)
    except BrokerToolsMissing as exc:
        fail(str(exc))
    except (TimeoutError, RuntimeError) as exc:
        fail(f"the {chosen} broker did not start: {exc} (is port {settings.kafka.embedded_port} taken?"
             + (f" see {log_file})" if log_file else ")"))
    return broker


def broker(
    kind: BrokerKind = typer.Option(None, "--kind", help="tansu or apache-kafka (default DEVSTACK__BROKER: tansu)"),
    run_dir: Path = typer.Option(
        Path("var"), help="Logs, and Apache Kafka's log in kafka/ (unless DEVSTACK__KAFKA_LOG_DIR)"
    ),
) -> None:
    settings = settings_and_logging()
    stopping = False

    def on_signal(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)
    log_file = run_dir / "logs" / "broker.log"
    local = start_local_broker(settings, kind, run_dir, log_file)
    try:
        console.print(f"[bold green]broker up[/] on {local.bootstrap}: run the rest with KAFKA_BOOTSTRAP="
                      f"{local.bootstrap}. Log in {log_file}. Ctrl-C stops.")
        while not stopping:
            if not local.alive():
                fail("the broker stopped")
            time.sleep(0.5)
    finally:
        local.stop()
        console.print("broker stopped")
