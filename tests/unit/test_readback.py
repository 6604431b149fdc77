"""The read-back loop's shape: queries live in SQL files with typed bound parameters, agents.py only wire."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from servicepulse.config import load_settings
from servicepulse.connectors.kafka import leader_topic
from servicepulse.streams.readback import queries

ROOT = Path(__file__).resolve().parents[2]
READBACK = ROOT / "streams" / "readback"
SQL_FILES = sorted((READBACK / "sql").glob("*.sql"))
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def test_every_query_file_is_used_and_every_used_name_has_a_file() -> None:
    used = set()
    for module in READBACK.glob("*.py"):
        text = module.read_text(encoding="utf-8")
        used |= set(re.findall(r'\b_?(?:rows|query|sql)\(\s*(?:\w+,\s*)?"(\w+)"', text))
    assert used == {f.stem for f in SQL_FILES}


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: p.name)
def test_every_placeholder_is_a_typed_server_side_parameter(path: Path) -> None:
    text = queries.sql(path.stem)
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    for inner in PLACEHOLDER.findall(code):
        assert re.fullmatch(r"\w+:\w+(\(.*\))?", inner), f"{path.name}: {{{inner}}} is not {{name:Type}}"
    assert not PLACEHOLDER.findall("\n".join(line for line in text.splitlines() if line.lstrip().startswith("--")))


def test_no_sql_and_no_timer_in_any_agents_module() -> None:
    sql_words = re.compile(r"\b(SELECT|INSERT INTO|FROM \w+ FINAL|GROUP BY)\b")
    for path in (ROOT / "streams").glob("*/agents.py"):
        text = path.read_text(encoding="utf-8")
        assert not sql_words.search(text), f"SQL in {path.relative_to(ROOT)}"
        assert ".timer(" not in text and ".crontab(" not in text, f"timer in {path.relative_to(ROOT)}"
    for area in ("contact", "complaints", "finance", "payroll", "ops"):
        assert "def register(app" in (ROOT / "streams" / area / "agents.py").read_text(encoding="utf-8")


def test_every_timer_lives_in_the_readback_package() -> None:
    for path in (ROOT / "streams").rglob("*.py"):
        if ".timer(" in path.read_text(encoding="utf-8"):
            assert path.parent == READBACK, f"timer outside streams/readback: {path.relative_to(ROOT)}"


def test_leader_topic_is_the_one_faust_elects_a_leader_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from servicepulse.streams.app import build_app

    monkeypatch.setenv("KAFKA__CONSUMER_GROUP", "grp-x")
    monkeypatch.setenv("WORKER__DATA_DIR", str(tmp_path))
    settings = load_settings()
    app = build_app(settings)
    # Faust keeps the name on its assignor without declaring it in the type; read it as Faust does.
    elected_on = getattr(app._leader_assignor, "_leader_topic_name")  # noqa: B009
    assert leader_topic(settings.kafka) == elected_on == "grp-x-__assignor-__leader"


def test_readback_tunables_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings().readback
    assert (defaults.sla_tick_s, defaults.sla_lookback_days, defaults.clock_idle_s, defaults.finance_interval_s,
            defaults.finance_lookback_days, defaults.payroll_wait_for_lines_s, defaults.payroll_poll_s) == (
        3.0, 45, 10.0, 60.0, 45, 600.0, 0.5)
    assert load_settings().alerts.webhook_batch == 100
    monkeypatch.setenv("READBACK__FINANCE_INTERVAL_S", "2")
    monkeypatch.setenv("ALERTS__WEBHOOK_BATCH", "10")
    settings = load_settings()
    assert settings.readback.finance_interval_s == 2.0
    assert settings.alerts.webhook_batch == 10
    for name, field in type(settings.readback).model_fields.items():
        assert field.description, f"READBACK__{name.upper()} has no description"
