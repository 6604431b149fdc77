"""`migrate` writes the calendar and the targets from one source: the domain calendar and the parameters file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from servicepulse.connectors.clickhouse import CALENDAR_YEARS_AHEAD, migrate
from servicepulse.domain.calendar import non_working_days
from servicepulse.domain.parameters import default_parameters, load_parameters
from servicepulse.domain.zone import STOCKHOLM
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]


def test_migrate_writes_calendar_and_targets_from_one_source(pipeline: Pipeline, tmp_path: Path) -> None:
    last = datetime.now(STOCKHOLM).year + CALENDAR_YEARS_AHEAD
    stored = [(d, n) for d, n in pipeline.rows("SELECT day, name FROM non_working_days FINAL ORDER BY day")]
    assert stored == non_working_days(2000, last)
    assert (date(last, 12, 24), "Julafton") in stored
    p = default_parameters()
    targets = {q: (t, s, sl, f) for q, t, sl, f, s in pipeline.rows(
        "SELECT queue, threshold_s, service_level_target, fcr_target, short_abandon_s FROM sla_queue_targets FINAL")}
    assert targets["*"] == (60, 5, 0.85, 0.80) and targets["vasby-direkt"] == (120, 5, 0.85, 0.72)
    assert set(targets) == {"*", *p.sla_queues}
    assert pipeline.rows("SELECT opens_minute, closes_minute, ack_office_hours FROM sla_settings FINAL") == [
        (480, 990, 8.0)]
    assert dict(pipeline.rows("SELECT case_type, limit_days FROM case_lead_time_limits FINAL")) == dict(p.case_limits)

    # Again: nothing applied, nothing rewritten. With an override file: its values reach the tables.
    assert migrate(pipeline.settings.clickhouse) == []
    override = tmp_path / "override.toml"
    override.write_text('[sla.queues]\nkc-social = { threshold_s = 30 }\n\n[rules."contact.case_lead_time"]\n'
                        "limits = { new_hire = 3 }\n", encoding="utf-8")
    assert migrate(pipeline.settings.clickhouse, parameters=load_parameters(override)) == []
    assert pipeline.rows("SELECT threshold_s FROM sla_queue_targets FINAL WHERE queue = 'kc-social'") == [(30,)]
    assert pipeline.rows("SELECT case_type, limit_days FROM case_lead_time_limits FINAL") == [("new_hire", 3)]
    assert pipeline.rows("SELECT count() FROM v_contact_outcomes") == [(0,)]  # the views still run
