"""The rule vocabulary: one Rule shape, parameters by name, one way to build findings and alerts."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from servicepulse.domain.parameters import DEFAULT_FILE, ParameterError
from servicepulse.domain.rules import Rule, build_alert, build_finding, declare, evidence, stable_id
from servicepulse.schemas.events import AlertState, Severity

T = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def test_declare_takes_version_and_parameters_from_the_file() -> None:
    rule = declare("payroll.travel_per_diem", Severity.low, "travel")
    assert (rule.rule_id, rule.version, rule.severity) == ("payroll.travel_per_diem", 2, Severity.low)
    assert rule["max_line_ore"] == 500_000 and rule["categories"] == frozenset({"travel", "per_diem"})
    assert rule.params() == {"max_line_ore": 500_000, "max_per_diem_day_ore": 30_000,
                             "categories": ["per_diem", "travel"], "leave_pay_types": ["52", "61"]}
    assert {p.source for p in rule.parameters} == {DEFAULT_FILE}
    with pytest.raises(ParameterError, match="not in the parameters file"):
        declare("nobody.knows", Severity.low, "?")
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        rule["nope"]


def test_with_values_replaces_parameters_and_version() -> None:
    rule = declare("payroll.pay_change", Severity.medium, "pay change")
    changed = rule.with_values(max_change_pct=20, version=2)
    assert changed["max_change_pct"] == 20 and changed.version == 2 and rule["max_change_pct"] == 30
    assert next(p for p in changed.parameters if p.name == "max_change_pct").source == "argument"
    with pytest.raises(TypeError, match="no parameter"):
        rule.with_values(max_change=20)
    assert replace(rule, version=3)["min_previous_ore"] == 100_000  # values survive dataclasses.replace


def test_build_finding_id_and_evidence() -> None:
    rule = Rule("x.rule", 2, Severity.high, "a rule")
    finding = build_finding(rule, key=("a", 1), subject_type="voucher", subject_id="1010:B1", company="1010",
                            occurred_at=T, detected_at=T, summary="s", evidence={"b": 1, "a": [2]},
                            source_event_ids=["e1"])
    assert finding.finding_id == stable_id("x.rule", 2, "a", 1)
    assert (finding.rule_id, finding.rule_version, finding.severity) == ("x.rule", 2, Severity.high)
    assert finding.evidence_json == '{"a":[2],"b":1}' == evidence({"b": 1, "a": [2]})
    graded = build_finding(rule, key=(), subject_type="t", subject_id="s", company=None, occurred_at=T,
                           summary="s", evidence={}, severity=Severity.low)
    assert graded.severity is Severity.low and graded.detected_at.tzinfo is not None


def test_build_alert_ids_and_severities() -> None:
    rule = Rule("x.alert", 1, Severity.medium, "an alert")
    raised = build_alert(rule, "x.alert:q", AlertState.raised, title="t", occurred_at=T, details={"k": 1})
    resolved = build_alert(rule, "x.alert:q", AlertState.resolved, title="t", occurred_at=T, details={})
    assert raised.alert_id == stable_id("x.alert:q", "raised") and raised.severity is Severity.medium
    assert resolved.alert_id == stable_id("x.alert:q", "resolved") and resolved.severity is Severity.info
    assert json.loads(raised.details_json) == {"k": 1}
    custom = build_alert(rule, "k", AlertState.raised, title="t", occurred_at=T, details={},
                         id_parts=("x.alert", 1, "k"), severity=Severity.high)
    assert custom.alert_id == stable_id("x.alert", 1, "k", "raised") and custom.severity is Severity.high


def test_rules_and_state_holding_them_deep_copy() -> None:
    # The SLA agent deep-copies its monitor each tick; rules (with read-only mapping parameters) must survive it.
    import copy

    from servicepulse.domain.parameters import default_parameters
    from servicepulse.streams.contact.monitor import SlaMonitor

    monitor = SlaMonitor.from_parameters(default_parameters())
    clone = copy.deepcopy(monitor)
    assert clone == monitor and clone.case_rule is monitor.case_rule
    assert copy.deepcopy(default_parameters()) is default_parameters()
