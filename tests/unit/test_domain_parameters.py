"""The parameters file: typed values, an operator's override file on top, the source of every value."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from servicepulse.config import load_settings
from servicepulse.domain.parameters import (
    DEFAULT_FILE,
    OVERRIDE_FILE,
    ParameterError,
    QueueTarget,
    default_parameters,
    load_parameters,
)


def test_default_file() -> None:
    p = default_parameters()
    assert (p.office_opens, p.office_closes) == (time(8), time(16, 30))
    assert p.sla_queues["vasby-direkt"] == QueueTarget(120, 0.85, 0.72, 5)
    assert p.queue_target("unknown-queue") == p.sla_default == QueueTarget()
    assert dict(p.case_limits) == {"new_hire": 2, "personal_data_update": 5, "name_change": 5,
                                   "employer_certificate": 5, "urgent_girovision": 5, "urgent_agresso": 2}
    assert p.ack_office_hours == 8.0
    assert p.rule("ap.split_invoice").version == 1
    assert p.value("ap.split_invoice", "approval_limit_ore") == 5_000_000
    for rule in p.rules.values():
        for param in rule.parameters:
            assert param.description and param.unit, f"{rule.rule_id}.{param.name} needs a unit and description"


def test_override_file(tmp_path: Path) -> None:
    path = tmp_path / "override.toml"
    path.write_text('[office_hours]\nopens = 07:30:00\n\n[sla.queues]\nkc-social = { service_level = 0.9 }\n\n'
                    '[rules."ap.split_invoice"]\nversion = 2\napproval_limit_ore = 4000000\n\n'
                    '[rules."gl.suspense_posting"]\naccounts = { value = ["9894", "9896"] }\n', encoding="utf-8")
    p = load_parameters(path)
    assert p.files == ("servicepulse/domain/parameters.toml", str(path))
    assert p.office_opens == time(7, 30) and p.sources["office_hours"] == OVERRIDE_FILE
    assert p.sla_queues["kc-social"] == QueueTarget(60, 0.9, 0.80, 5)
    assert p.sources["sla.queues.kc-social"] == OVERRIDE_FILE and p.sources["sla.queues.kc-parking"] == DEFAULT_FILE
    split = p.rule("ap.split_invoice")
    assert split.version == 2 and split.version_source == OVERRIDE_FILE
    assert [(x.name, x.value, x.source) for x in split.parameters] == [("approval_limit_ore", 4_000_000,
                                                                        OVERRIDE_FILE)]
    assert p.value("gl.suspense_posting", "accounts") == frozenset({"9894", "9896"})
    assert p.rule("ar.refund_limit").parameters[0].source == DEFAULT_FILE
    # The settings name the override file (RULES__PARAMETERS_FILE).
    assert load_settings(rules={"parameters_file": path}).parameters() == p


@pytest.mark.parametrize(("text", "message"), [
    ('[rules."no.such"]\nx = 1\n', "unknown rule"),
    ('[rules."ap.split_invoice"]\nlimit = 1\n', "has no parameter 'limit'"),
    ('[rules."ap.split_invoice"]\napproval_limit_ore = "much"\n', "not of the default's type"),
    ('[rules."ap.benford"]\nper_supplier = 1\n', "not of the default's type"),
    ("[office_hours]\nopens = 17:00:00\n", "closes after opens"),
    ("[sla.queues]\nq = { target = 1 }\n", "unknown field"),
    ("[thresholds]\nx = 1\n", "unknown section"),
    ("not toml at all [", "cannot read"),
])
def test_bad_override_files_are_refused_clearly(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError, match=message):
        load_parameters(path)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="cannot read"):
        load_parameters(tmp_path / "nope.toml")
