"""`controls rerun` parameters: NAME=VALUE overrides reach the rule; bad ones are refused clearly."""

from __future__ import annotations

import pytest
import typer

from servicepulse.cli.controls import _param
from servicepulse.streams.payroll.rules import rule_by_id


def test_param_values() -> None:
    assert _param("max_change_pct=20") == ("max_change_pct", 20)
    assert _param("contribution_pay_types=95,951") == ("contribution_pay_types", frozenset({"95", "951"}))
    rule = rule_by_id("payroll.pay_change", **dict([_param("max_change_pct=20")]))
    assert rule.params()["max_change_pct"] == 20 and rule.version == 1
    assert rule_by_id("payroll.gross_ceiling", version=2).version == 2


def test_bad_param() -> None:
    with pytest.raises(typer.Exit):
        _param("no-equals-sign")
    with pytest.raises(TypeError):
        rule_by_id("payroll.pay_change", no_such_parameter=1)
