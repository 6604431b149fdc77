"""The demo pseudonym key stays on this machine; `up` refuses a port it did not open."""

from __future__ import annotations

import socket

import pytest
import typer

from servicepulse.cli.run import _require_free_port
from servicepulse.config import MissingSecret, load_settings


@pytest.mark.parametrize("bootstrap", ["kafka:9092", "10.0.0.5:9092", "127.0.0.1:9092,broker.example:9092"])
def test_demo_key_is_refused_with_a_kafka_elsewhere(bootstrap: str) -> None:
    settings = load_settings(SERVICEPULSE_DEMO=True, KAFKA_BOOTSTRAP=bootstrap)
    with pytest.raises(MissingSecret, match="demo pseudonym key"):
        settings.require_safe_pseudonym_key()


@pytest.mark.parametrize("bootstrap", [None, "127.0.0.1:19092", "localhost:9092", "[::1]:9092"])
def test_demo_key_is_fine_on_this_machine(bootstrap: str | None) -> None:
    load_settings(SERVICEPULSE_DEMO=True, KAFKA_BOOTSTRAP=bootstrap).require_safe_pseudonym_key()


def test_a_real_key_is_fine_anywhere() -> None:
    load_settings(KAFKA_BOOTSTRAP="kafka:9092", payroll={"pseudonym_key": "s3cret"}).require_safe_pseudonym_key()


def test_up_refuses_a_taken_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises((SystemExit, typer.Exit)):
            _require_free_port("127.0.0.1", port, "store", "CLICKHOUSE__EMBEDDED_PORT")
    _require_free_port("127.0.0.1", port, "store", "CLICKHOUSE__EMBEDDED_PORT")  # free again
