"""Service level, ASA, abandonment and FCR per answer group and window, against hand-computed figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import CallEvent
from servicepulse.streams.contact.metrics import compute_windows, hopping_windows, tumbling_window

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
    """The hand-computed day (see the expectations in the tests below)."""
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


def test_fifteen_minute_windows_match_hand_computed_figures() -> None:
    windows = compute_windows(day_of_calls())
    assert set(windows) == set(EXPECTED_15)
    for key, (offered, within, short, sl, asa, aband, fcr) in EXPECTED_15.items():
        m = windows[key]
        assert (m.offered, m.answered_within_threshold, m.short_abandoned) == (offered, within, short), key
        assert m.service_level == pytest.approx(sl)
        assert m.asa_s == pytest.approx(asa)
        assert m.abandonment_rate == pytest.approx(aband)
        assert m.fcr == pytest.approx(fcr)
        assert m.window_end - m.window_start == timedelta(minutes=15)


def test_replayed_events_count_once() -> None:
    events = day_of_calls()
    assert compute_windows(events + events[:10]) == compute_windows(events)


def test_short_abandon_threshold_is_configurable() -> None:
    from servicepulse.streams.contact.metrics import QueueTarget

    m = compute_windows(day_of_calls(), {"payroll-service": QueueTarget(60, 0.85, 0.95, short_abandon_s=3)})
    w = m[("payroll-service", at(9, 0))]
    assert (w.short_abandoned, w.offered) == (0, 7)  # 4 s and 5 s abandons now count


def test_rolling_hour_windows() -> None:
    windows = compute_windows(day_of_calls(), hopping=True)
    first = windows[("payroll-service", at(8, 15))]  # [08:15, 09:15): c1..c7
    assert (first.offered, first.answered_within_threshold) == (5, 3)
    w = windows[("payroll-service", at(9, 5))]  # [09:05, 10:05): c2..c8
    assert (w.answered, w.answered_within_threshold, w.abandoned, w.short_abandoned) == (4, 2, 3, 2)
    assert w.service_level == pytest.approx(2 / 5)
    assert ("payroll-service", at(9, 25)) not in windows  # nothing offered after 09:20


def test_window_assignment() -> None:
    assert tumbling_window(at(9, 14, 59)) == (at(9, 0), at(9, 15))
    hops = hopping_windows(at(9, 7))
    assert len(hops) == 12
    assert hops[0] == (at(8, 10), at(9, 10))
    assert hops[-1] == (at(9, 5), at(10, 5))
    # Stockholm summer time: windows stay on the local quarter hour.
    summer = datetime(2026, 7, 1, 10, 7, tzinfo=STOCKHOLM)
    assert tumbling_window(summer)[0] == summer.replace(minute=0)
