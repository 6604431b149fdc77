"""Service level, ASA, abandonment and FCR per answer group and window, against hand-computed figures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.streams.contact.metrics import compute_windows, hopping_windows, tumbling_window
from tests.factories.calls import EXPECTED_15, at, day_of_calls


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
