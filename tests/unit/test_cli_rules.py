"""`servicepulse rules`: every rule in the code is listed, with its parameters and where their values came from."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import servicepulse.streams
from servicepulse.cli.main import app
from servicepulse.domain.parameters import default_parameters
from servicepulse.domain.rules import Rule
from servicepulse.streams.catalogue import catalogue

STREAMS = Path(servicepulse.streams.__file__).parent
RULE_ID = re.compile(r"^(contact|complaints|ops|gl|ap|ar|bank|payroll)\.[a-z_]+$")


def _run(*args: str, **env: str) -> str:
    result = CliRunner().invoke(app, ["rules", *args], env={"LOG__LEVEL": "WARNING", **env})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_lists_every_rule_with_parameters_and_sources() -> None:
    doc = json.loads(_run("--format", "json"))
    ids = [r["rule_id"] for r in doc["rules"]]
    assert ids == sorted(ids) and set(ids) == set(default_parameters().rules)
    split = next(r for r in doc["rules"] if r["rule_id"] == "ap.split_invoice")
    assert (split["version"], split["severity"]) == (1, "high") and split["description"]
    assert split["parameters"] == [{"name": "approval_limit_ore", "value": 5_000_000, "unit": "öre",
                                    "description": split["parameters"][0]["description"], "source": "default file"}]
    assert doc["targets"]["sla_queues"]["vasby-direkt"]["threshold_s"] == 120


def test_override_file_shows_as_the_source(tmp_path: Path) -> None:
    path = tmp_path / "override.toml"
    path.write_text('[rules."ar.refund_limit"]\nrefund_limit_ore = 3000000\n', encoding="utf-8")
    doc = json.loads(_run("--format", "json", RULES__PARAMETERS_FILE=str(path)))
    refund = next(r for r in doc["rules"] if r["rule_id"] == "ar.refund_limit")
    assert refund["parameters"][0]["value"] == 3_000_000 and refund["parameters"][0]["source"] == "override file"
    assert doc["files"][-1] == str(path)
    table = _run(RULES__PARAMETERS_FILE=str(path))
    assert "ar.refund_limit" in table and "override file" in table and "30 000,00 kr" in table.replace("\u00a0", " ")


def test_bad_override_file_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[rules."ar.refund_limit"]\nrefund = 1\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["rules"], env={"RULES__PARAMETERS_FILE": str(path)})
    assert result.exit_code == 1 and "has no parameter 'refund'" in result.output


def _stream_modules() -> list[str]:
    return [m.name for m in pkgutil.walk_packages([str(STREAMS)], "servicepulse.streams.")]


def test_every_rule_object_in_the_code_is_listed() -> None:
    listed = {r.rule_id for r in catalogue()}
    found: dict[str, str] = {}
    for name in _stream_modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, Rule):
                found[value.rule_id] = f"{name}.{attr}"
    assert found and set(found) <= listed, {k: v for k, v in found.items() if k not in listed}
    assert listed == set(default_parameters().rules)


@pytest.mark.parametrize("path", sorted(STREAMS.rglob("*.py")), ids=lambda p: str(p.relative_to(STREAMS)))
def test_findings_and_alerts_are_built_one_way_and_name_listed_rules(path: Path) -> None:
    """No module builds a Finding or an Alert by hand (they go through build_finding / build_alert with a Rule), and
    every rule id written anywhere in the code is a listed rule."""
    listed = {r.rule_id for r in catalogue()}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("Finding", "Alert"), f"{path}:{node.lineno} builds {node.func.id}(...)"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.match(node.value):
            assert node.value in listed, f"{path}:{node.lineno}: rule id {node.value!r} is not listed"
