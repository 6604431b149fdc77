"""Hand-computed contact-centre calls: one day at two answer groups and its expected 15-minute figures."""

from __future__ import annotations

from datetime import datetime, timedelta

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import CallEvent, Complaint

__all__ = ["DAY", "EXPECTED_15", "at", "contact", "day_of_calls", "planted_events", "sthlm"]

DAY = datetime(2026, 3, 12, tzinfo=STOCKHOLM)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return DAY.replace(hour=hh, minute=mm, second=ss)


def contact(cid: str, queue: str, offered: datetime, wait_s: int, answered: bool,
            resolved: bool | None = None) -> list[CallEvent]:
    org = "Väsby Direkt" if queue == "vasby-direkt" else "Serviceförvaltningen Lön & pension"
    common = {"contact_id": cid, "channel": "phone", "queue": queue, "org": org, "source": "test"}
    out = [CallEvent(event_id=f"{cid}:offered", event_type="offered", occurred_at=offered, **common)]
    t = offered + timedelta(seconds=wait_s)
    if not answered:
        return [*out, CallEvent(event_id=f"{cid}:abandoned", event_type="abandoned", occurred_at=t,
                                offered_at=offered, wait_ms=wait_s * 1000, **common)]
    out.append(CallEvent(event_id=f"{cid}:answered", event_type="answered", occurred_at=t, offered_at=offered,
                         wait_ms=wait_s * 1000, agent_id="LP-001", **common))
    out.append(CallEvent(event_id=f"{cid}:ended", event_type="ended", occurred_at=t + timedelta(minutes=4),
                         offered_at=offered, wait_ms=wait_s * 1000, handle_ms=240_000, agent_id="LP-001",
                         resolved_first_contact=resolved, **common))
    return out


def day_of_calls() -> list[CallEvent]:
    """The hand-computed day (expected figures in EXPECTED_15)."""
    ps, vd = "payroll-service", "vasby-direkt"
    events = [
        *contact("c1", ps, at(9, 1), 30, True, True),
        *contact("c2", ps, at(9, 5), 60, True, False),  # exactly the 60 s threshold: within
        *contact("c3", ps, at(9, 10), 90, True, True),
        *contact("c4", ps, at(9, 12), 4, False),  # short abandon
        *contact("c5", ps, at(9, 14), 5, False),  # short abandon (<= 5 s)
        *contact("c6", ps, at(9, 14, 30), 40, False),
        *contact("c7", ps, at(9, 14, 59), 20, True, True),  # answered 09:15:19, counts in the 09:00 window
        *contact("c8", ps, at(9, 20), 61, True, True),
        *contact("v1", vd, at(9, 3), 100, True, True),  # threshold 120 s for Väsby Direkt
        *contact("v2", vd, at(9, 4), 121, True, False),
        *contact("v3", vd, at(9, 6), 6, False),  # 6 s: a real abandon
        CallEvent(event_id="e1:email_received", contact_id="e1", event_type="email_received", channel="email",
                  queue=ps, org="Serviceförvaltningen Lön & pension", occurred_at=at(9, 2), source="test"),
    ]
    return events


# (queue, window start) -> offered, within, short abandoned, SL, ASA s, abandonment, FCR
EXPECTED_15 = {
    ("payroll-service", at(9, 0)): (5, 3, 2, 3 / 5, (30 + 60 + 90 + 20) / 4, 1 / 5, 3 / 4),
    ("payroll-service", at(9, 15)): (1, 0, 0, 0.0, 61.0, 0.0, 1.0),
    ("vasby-direkt", at(9, 0)): (3, 1, 0, 1 / 3, (100 + 121) / 2, 1 / 3, 1 / 2),
}


def sthlm(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


def planted_events() -> list[CallEvent | Complaint]:
    """The hand-computed day plus planted breaches: 5 SLA alerts (service level raised and resolved, two e-mail
    deadlines, one complaint acknowledgement)."""
    ps = "kc-social"
    events: list[CallEvent | Complaint] = list(day_of_calls())
    # Rolling-hour breach: 10:00-11:00 20 calls of which 12 answered within 60 s (60 %), then 11:00-12:00 20
    # calls all within (100 %). One raise, one resolve expected; nothing for the hand-computed day (< 10/hour).
    for i in range(20):
        events += contact(f"b{i}", ps, sthlm(2026, 3, 12, 10, 0) + timedelta(minutes=3 * i), 30 if i < 12 else 90,
                          True, True)
        events += contact(f"g{i}", ps, sthlm(2026, 3, 12, 11, 0) + timedelta(minutes=3 * i), 20, True, True)
    # E-mail received Thursday before Easter 16:00, left unanswered; another one answered in time.
    mail = {"channel": "email", "queue": "payroll-service", "org": "Serviceförvaltningen Lön & pension",
            "source": "test"}
    events.append(CallEvent(event_id="m1:email_received", contact_id="m1", event_type="email_received",
                            occurred_at=sthlm(2026, 4, 2, 16, 0), **mail))
    events.append(CallEvent(event_id="m2:email_received", contact_id="m2", event_type="email_received",
                            occurred_at=sthlm(2026, 4, 2, 9, 0), **mail))
    events.append(CallEvent(event_id="m2:email_answered", contact_id="m2", event_type="email_answered",
                            occurred_at=sthlm(2026, 4, 2, 15, 0), offered_at=sthlm(2026, 4, 2, 9, 0), **mail))
    # The event-time clock passes Tuesday 7 April 16:00 (the e-mail's deadline) with this call.
    events += contact("late-clock", ps, sthlm(2026, 4, 8, 9, 0), 10, True, True)
    # Complaints: one never acknowledged, one acknowledged in time; a later registration moves the clock on.
    common = {"customer": "Socialförvaltningen", "process": "payroll", "channel": "tyck_till",
              "category": "complaint", "source": "test"}
    events += [
        Complaint(event_id="k1:registered", complaint_id="k1", event_type="registered",
                  occurred_at=sthlm(2026, 3, 2, 9), **common),
        Complaint(event_id="k2:registered", complaint_id="k2", event_type="registered",
                  occurred_at=sthlm(2026, 3, 2, 10), **common),
        Complaint(event_id="k2:acknowledged", complaint_id="k2", event_type="acknowledged",
                  occurred_at=sthlm(2026, 3, 2, 11), **common),
        Complaint(event_id="k3:registered", complaint_id="k3", event_type="registered",
                  occurred_at=sthlm(2026, 3, 10, 10), **common),
        Complaint(event_id="k3:acknowledged", complaint_id="k3", event_type="acknowledged",
                  occurred_at=sthlm(2026, 3, 10, 11), **common),
    ]
    return events
