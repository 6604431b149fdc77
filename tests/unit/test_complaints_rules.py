"""Complaints per tertial, customer and process; acknowledgement deadline; backlog alerts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from servicepulse.domain.calendar import WorkingCalendar, tertial_of
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import AlertState, Complaint
from servicepulse.streams.complaints.rules import (
    BACKLOG,
    ack_alerts,
    backlog_at,
    backlog_step,
    compile_complaints,
    stories,
)

CAL = WorkingCalendar()


def sthlm(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


def complaint(cid: str, step: str, at: datetime, customer: str = "Socialförvaltningen",
              process: str = "payroll") -> Complaint:
    return Complaint(event_id=f"{cid}:{step}", complaint_id=cid, event_type=step, occurred_at=at, customer=customer,
                     process=process, channel="tyck_till", category="complaint", source="test")


@pytest.mark.parametrize(("moment", "expected"), [
    (sthlm(2026, 1, 1, 0, 0), "2026-T1"), (sthlm(2026, 4, 30, 23, 59), "2026-T1"), (sthlm(2026, 5, 1), "2026-T2"),
    (sthlm(2026, 8, 31, 23, 0), "2026-T2"), (sthlm(2026, 9, 1), "2026-T3"), (sthlm(2026, 12, 31, 23, 0), "2026-T3"),
])
def test_tertials(moment: datetime, expected: str) -> None:
    assert tertial_of(moment) == expected
    assert tertial_of(moment.astimezone(STOCKHOLM).astimezone(datetime.now().astimezone().tzinfo)) == expected


def test_compiled_per_tertial_customer_and_process() -> None:
    events = [
        # registered Thursday 2 April 10:00; 8 office hours -> due Tuesday 7 April 09:30
        complaint("a", "registered", sthlm(2026, 4, 2, 10)), complaint("a", "acknowledged", sthlm(2026, 4, 7, 9)),
        complaint("a", "closed", sthlm(2026, 4, 8, 9)),
        complaint("b", "registered", sthlm(2026, 4, 2, 11)),
        complaint("b", "acknowledged", sthlm(2026, 4, 7, 11)),  # due 10:30: late
        complaint("c", "registered", sthlm(2026, 4, 30, 12)),  # never acknowledged
        complaint("d", "registered", sthlm(2026, 5, 4, 9), process="pension"),
        complaint("d", "acknowledged", sthlm(2026, 5, 4, 10), process="pension"),
    ]
    compiled = compile_complaints(stories(events).values(), CAL, 8)
    t1 = compiled[("2026-T1", "Socialförvaltningen", "payroll")]
    assert (t1.registered, t1.acknowledged, t1.acknowledged_in_time, t1.closed) == (3, 2, 1, 1)
    t2 = compiled[("2026-T2", "Socialförvaltningen", "pension")]
    assert (t2.registered, t2.acknowledged_in_time) == (1, 1)
    months = compile_complaints(stories(events).values(), CAL, 8, by="month")
    assert months[("2026-04", "Socialförvaltningen", "payroll")].registered == 3


def test_unacknowledged_complaint_alerts_once_when_due() -> None:
    s = stories([complaint("c", "registered", sthlm(2026, 4, 30, 12))]).values()
    # 30 April 12:00 + 8 office hours: 4.5 h on Thursday, 1 May is a holiday -> Monday 4 May 11:30.
    state, alerts = ack_alerts(s, sthlm(2026, 5, 4, 11, 29), set(), CAL)
    assert alerts == []
    state, alerts = ack_alerts(s, sthlm(2026, 5, 4, 11, 30), state, CAL)
    assert [a.state for a in alerts] == [AlertState.raised]
    assert alerts[0].occurred_at == sthlm(2026, 5, 4, 11, 30)
    assert ack_alerts(s, sthlm(2026, 6, 1), state, CAL)[1] == []
    acked = stories([complaint("c", "registered", sthlm(2026, 4, 30, 12)),
                     complaint("c", "acknowledged", sthlm(2026, 5, 5, 9))]).values()
    state, alerts = ack_alerts(acked, sthlm(2026, 5, 6), state, CAL)
    assert [a.state for a in alerts] == [AlertState.resolved]
    assert alerts[0].measured_value == pytest.approx(4.5 + 8.5 + 1)


def test_backlog_with_age_and_threshold() -> None:
    events = [complaint(str(i), "registered", sthlm(2026, 3, 2, 9) + timedelta(hours=i)) for i in range(4)]
    events.append(complaint("0", "closed", sthlm(2026, 3, 3, 9)))
    items = stories(events).values()
    open_now = backlog_at(items, sthlm(2026, 3, 3, 12))
    assert sorted(open_now) == [("1", timedelta(hours=26)), ("2", timedelta(hours=25)), ("3", timedelta(hours=24))]
    rule = BACKLOG.with_values(threshold=2)
    state, raised = backlog_step(None, sthlm(2026, 3, 3, 12), 3, timedelta(hours=26), rule)
    assert [a.state for a in raised] == [AlertState.raised] and raised[0].measured_value == 3
    state, again = backlog_step(state, sthlm(2026, 3, 3, 13), 4, timedelta(hours=27), rule)
    assert again == []
    state, resolved = backlog_step(state, sthlm(2026, 3, 3, 14), 2, timedelta(hours=28), rule)
    assert [a.state for a in resolved] == [AlertState.resolved] and state is None
    assert resolved[0].alert_key == raised[0].alert_key
