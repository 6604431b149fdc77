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


def test_pseudonym_key_has_a_default_only_in_demo_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from servicepulse.config import DEMO_PSEUDONYM_KEY, MissingSecret

    for name in ("SERVICEPULSE_DEMO", "PAYROLL__PSEUDONYM_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.demo is False and settings.payroll.pseudonym_key is None
    with pytest.raises(MissingSecret, match="PAYROLL__PSEUDONYM_KEY"):
        settings.payroll.key()
    monkeypatch.setenv("SERVICEPULSE_DEMO", "1")
    assert load_settings().payroll.key() == DEMO_PSEUDONYM_KEY
    monkeypatch.setenv("PAYROLL__PSEUDONYM_KEY", "a-real-secret")
    assert load_settings().payroll.key() == "a-real-secret"  # an explicit key wins, demo or not


def test_protected_person_needs_the_key() -> None:
    from servicepulse.streams.payroll.people import MissingPseudonymKey, Person, subject_for

    assert subject_for("A1", Person("A1"), None) == "A1"  # not protected: no key needed
    with pytest.raises(MissingPseudonymKey, match="PAYROLL__PSEUDONYM_KEY"):
        subject_for("A1", Person("A1", protected=True), None)


def test_redacted_records_format_in_faust_s_own_formatter() -> None:
    """Faust (mode) formats with ExtensionFormatter, which wraps non-tuple args into a tuple: the redacted record
    must still format, or every service start writes '--- Logging error ---' (seen in worker logs)."""
    import io
    import logging

    from mode.utils.logging import ExtensionFormatter

    from servicepulse.logging import install_redaction

    install_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ExtensionFormatter(stream, fmt="%(message)s"))
    logger = logging.getLogger("servicepulse.test.mode")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("[^-%s]: Starting... pnr %s", "FencedApp", "19121212-1212")
        logger.warning("rate 100%")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == ["[^-FencedApp]: Starting... pnr <personnummer>", "rate 100%"]
