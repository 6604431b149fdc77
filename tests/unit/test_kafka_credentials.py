"""Faust reaches the brokers as the confluent-kafka clients do: TLS for SSL and SASL_SSL, SASL when configured."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest

from servicepulse.config import load_settings
from servicepulse.connectors.kafka import client_config
from servicepulse.streams.app import _credentials


def test_plaintext_needs_no_credentials() -> None:
    assert _credentials(load_settings()) is None


def test_sasl_ssl_carries_a_tls_context_and_the_sasl_login(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA__SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("KAFKA__SASL_USERNAME", "svc")
    monkeypatch.setenv("KAFKA__SASL_PASSWORD", "secret")
    credentials = _credentials(load_settings())
    assert isinstance(credentials, faust.SASLCredentials)
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert credentials.ssl_context.verify_mode is ssl.CERT_REQUIRED
    assert (credentials.username, credentials.password) == ("svc", "secret")


def test_ssl_with_a_ca_file_reaches_faust_and_librdkafka(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    monkeypatch.setenv("KAFKA__SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("KAFKA__SSL_CA_FILE", str(missing))
    settings = load_settings()
    assert client_config(settings.kafka)["ssl.ca.location"] == str(missing)
    with pytest.raises(FileNotFoundError):  # the file is read: a wrong path fails at start, not at first fetch
        _credentials(settings)
