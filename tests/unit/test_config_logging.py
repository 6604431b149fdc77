"""Settings come from the environment; logs never show a personnummer."""

from __future__ import annotations

import pytest

from servicepulse.config import load_settings
from servicepulse.logging import redact_personnummer


def test_defaults_point_at_the_embedded_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL", "SCHEMA_REGISTRY_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.kafka.bootstrap is None
    assert settings.kafka.bootstrap_or_embedded() == "127.0.0.1:19092"
    assert settings.clickhouse.url_or_embedded() == "http://127.0.0.1:18123"
    assert settings.registry.url is None


def test_short_and_nested_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("CLICKHOUSE_URL", "http://ch:8123")
    monkeypatch.setenv("SINK__BATCH_MAX", "500")
    monkeypatch.setenv("KAFKA__TOPICS__CALL_EVENTS", "x-calls")
    settings = load_settings()
    assert settings.kafka.bootstrap == "kafka:9092"
    assert settings.clickhouse.url == "http://ch:8123"
    assert settings.sink.batch_max == 500
    assert settings.kafka.topics.call_events == "x-calls"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises ValidationError for frozen models
        settings.sink.batch_max = 1  # type: ignore[misc]  # mypy knows it is frozen; the test checks pydantic does


@pytest.mark.parametrize("text", ["19121212-1212", "191212121212", "121212-1212", "pnr 201212121212 x"])
def test_personnummer_is_masked_in_log_values(text: str) -> None:
    out = redact_personnummer(None, "info", {"event": f"user {text}", "n": 5})
    assert "1212" not in out["event"].replace("<personnummer>", "")
    assert out["n"] == 5
