"""Cases through the real pipeline: stored exactly, listed with their limit, and flagged when the lead time passes."""

from __future__ import annotations

from datetime import datetime

import pytest

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import CaseEvent
from tests.factories.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.broker_independent]


def case(case_id: str, step: str, case_type: str, at: datetime) -> CaseEvent:
    return CaseEvent(event_id=f"{case_id}:{step}", case_id=case_id, event_type=step, case_type=case_type,
                     unit="payroll-service", customer="Socialförvaltningen", occurred_at=at, source="test")


def test_case_past_its_lead_time_is_flagged_when_the_deadline_passes(pipeline: Pipeline) -> None:
    def at(day: int, hour: int) -> datetime:
        return datetime(2026, 4, day, hour, tzinfo=STOCKHOLM)

    events = [
        # New hire opened on Maundy Thursday: day 1-2 ends Tuesday 7 April 16:30 (Easter in between).
        case("late", "opened", "new_hire", at(2, 10)),
        case("ok", "opened", "name_change", at(2, 11)),
        case("ok", "closed", "name_change", at(8, 9)),
        # A later case moves the event-time clock past the deadline; the late one is still open.
        case("clock", "opened", "personal_data_update", at(8, 12)),
    ]
    producer = pipeline.producer()
    for event in events:
        producer.send(event)
    producer.flush()
    pipeline.start_worker()
    query = ("SELECT alert_key, state FROM alerts FINAL WHERE rule_id = 'contact.case_lead_time' "
             "ORDER BY occurred_at")
    # The alert needs only the late case and the clock stored; the others may still be on their way.
    pipeline.wait_for(lambda: pipeline.scalar("SELECT count() FROM cases") >= 4, timeout=120, what="cases stored")
    pipeline.wait_for(lambda: len(pipeline.rows(query)) >= 1, timeout=120, what="case lead-time alert")
    assert pipeline.rows(query) == [("contact.case_lead_time:new_hire:2026-04-07", "raised")]
    assert pipeline.scalar("SELECT count() FROM cases") == 4
    listed = pipeline.rows("SELECT case_id, limit_days, open FROM v_case_lead_times ORDER BY case_id")
    assert listed == [("clock", 5, True), ("late", 2, True), ("ok", 5, False)]
