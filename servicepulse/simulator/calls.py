"""Phone, chat and e-mail contacts per answer group (svarsgrupp), from offer or receipt to end or answer."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from servicepulse.schemas.events import CallEvent, CallEventType, Channel

from .agenda import Agenda
from .calendar import (
    HOUR_MS,
    MINUTE_MS,
    SECOND_MS,
    STOCKHOLM,
    add_office_ms,
    from_ms,
    is_working_day,
    main_pay_date,
    next_working_day,
    office_window,
    slot_tag,
)
from .randomness import between, lognormal, poisson, rng_for, uniform_times

__all__ = ["QUEUES", "CallFamily", "Queue"]

ORG_PAYROLL = "Serviceförvaltningen Lön & pension"
ORG_CONTACT_CENTRE = "Kontaktcenter"
ORG_VASBY = "Väsby Direkt"
_AGENTS = {ORG_PAYROLL: ("LP", 45), ORG_CONTACT_CENTRE: ("KC", 69), ORG_VASBY: ("VD", 12)}


@dataclass(frozen=True)
class Queue:
    """An answer group with its volumes per working day at scale 1 and its service parameters."""

    name: str
    org: str
    phone: float
    chat: float
    email: float
    threshold_s: int  # service level: share answered within this many seconds
    mean_wait_s: float  # mean queue time on an ordinary day outside peaks
    patience_s: float  # mean time callers wait before giving up
    handle_s: float  # median talk time
    fcr: float  # share resolved at first contact


QUEUES: tuple[Queue, ...] = (
    Queue("payroll-service", ORG_PAYROLL, 330, 0, 140, 60, 24, 420, 300, 0.955),
    Queue("manager-support", ORG_PAYROLL, 220, 0, 90, 60, 22, 420, 420, 0.995),
    Queue("pension-group", ORG_PAYROLL, 160, 0, 70, 60, 22, 420, 480, 0.995),
    Queue("kc-education", ORG_CONTACT_CENTRE, 950, 130, 260, 60, 24, 360, 210, 0.80),
    Queue("kc-social", ORG_CONTACT_CENTRE, 700, 90, 200, 60, 24, 360, 270, 0.80),
    Queue("kc-city-planning", ORG_CONTACT_CENTRE, 480, 60, 160, 60, 24, 360, 240, 0.80),
    Queue("kc-parking", ORG_CONTACT_CENTRE, 900, 140, 210, 60, 24, 360, 150, 0.80),
    Queue("vasby-direkt", ORG_VASBY, 380, 50, 110, 120, 40, 600, 240, 0.74),
)

# Calls per local hour, peaking mid-morning and after lunch; hour 16 holds only 16:00-16:30.
_PHONE_HOURS = {8: 0.85, 9: 1.3, 10: 1.35, 11: 1.05, 12: 0.7, 13: 1.2, 14: 1.05, 15: 0.8, 16: 0.3}
_PHONE_SHARE = {h: w / sum(_PHONE_HOURS.values()) for h, w in _PHONE_HOURS.items()}
_PHONE_MEAN = sum(_PHONE_HOURS.values()) / 8.5
# E-mail arrives around the clock: low at night and on days off, so there is always a trickle.
_EMAIL_HOURS = (0.05, 0.03, 0.02, 0.02, 0.03, 0.06, 0.15, 0.4, 1.0, 1.2, 1.2, 1.0, 0.8, 1.1, 1.0, 0.9,
                0.7, 0.45, 0.35, 0.3, 0.3, 0.25, 0.15, 0.08)
_EMAIL_SHARE = tuple(w / sum(_EMAIL_HOURS) for w in _EMAIL_HOURS)
_DAY_OFF_EMAIL = 0.2
_WEEKDAY = (1.2, 1.05, 1.0, 0.95, 0.8)
_MONTH = {1: 1.1, 6: 0.9, 7: 0.6, 8: 1.1, 12: 0.85}
_SHORT_ABANDON = 0.025


@lru_cache(maxsize=4096)
def _day_state(seed: int, queue: str, day: date) -> tuple[float, float]:
    """(waiting-time pressure, first-contact resolution) for a queue on a day, so some days miss targets."""
    rng = rng_for(seed, "calls-day", queue, day.isoformat())
    pressure = math.exp(rng.gauss(0.0, 0.3))
    q = next(q for q in QUEUES if q.name == queue)
    spread = 0.004 if q.fcr > 0.99 else 0.025
    return pressure, min(1.0, max(0.0, rng.gauss(q.fcr, spread)))


def _volume_factor(queue: Queue, day: date) -> float:
    factor = _WEEKDAY[day.weekday()] if day.weekday() < 5 else 1.0
    factor *= _MONTH.get(day.month, 1.0)
    if queue.org == ORG_PAYROLL:
        pay_day = main_pay_date(day.year, day.month)
        if day == pay_day or day == next_working_day(pay_day):
            factor *= 1.5
    return factor


def _call(contact_id: str, event_type: CallEventType, channel: Channel, queue: Queue, at_ms: int,
          offered_ms: int | None, wait_ms: int | None, handle_ms: int | None, agent: str | None,
          resolved: bool | None) -> CallEvent:
    return CallEvent(
        event_id=f"{contact_id}:{event_type.value}",
        contact_id=contact_id,
        event_type=event_type,
        channel=channel,
        queue=queue.name,
        org=queue.org,
        occurred_at=from_ms(at_ms),
        offered_at=None if offered_ms is None else from_ms(offered_ms),
        wait_ms=wait_ms,
        handle_ms=handle_ms,
        agent_id=agent,
        resolved_first_contact=resolved,
        source="simulator",
    )


class CallFamily:
    """Generates every contact that starts in a slot and schedules its later steps."""

    name = "calls"
    warmup_ms = 0

    def __init__(self, seed: int, scale: float) -> None:
        self._seed = seed
        self._scale = scale

    def generate(self, slot_ms: int, agenda: Agenda) -> None:
        if self._scale <= 0:
            return
        local = from_ms(slot_ms).astimezone(STOCKHOLM)
        day, hour = local.date(), local.hour
        working = is_working_day(day)
        tag = slot_tag(slot_ms)
        slot_end = slot_ms + HOUR_MS
        window = office_window(day) if working else None
        for queue in QUEUES:
            rng = rng_for(self._seed, self.name, queue.name, slot_ms)
            factor = _volume_factor(queue, day) * self._scale
            pressure, fcr = _day_state(self._seed, queue.name, day) if working else (1.0, queue.fcr)
            if window is not None and hour in _PHONE_SHARE:
                lo, hi = max(slot_ms, window[0]), min(slot_end, window[1])
                peak = _PHONE_HOURS[hour] / _PHONE_MEAN
                for channel, per_day, letter in ((Channel.phone, queue.phone, "P"), (Channel.chat, queue.chat, "C")):
                    count = poisson(rng, per_day * _PHONE_SHARE[hour] * factor)
                    for i, t0 in enumerate(uniform_times(rng, count, lo, hi)):
                        self._live_contact(rng, agenda, queue, channel, f"{queue.name}-{letter}{tag}-{i:04d}",
                                           t0, pressure * peak, fcr)
            per_hour = queue.email * _EMAIL_SHARE[hour] * factor * (1.0 if working else _DAY_OFF_EMAIL)
            for i, t0 in enumerate(uniform_times(rng, poisson(rng, per_hour), slot_ms, slot_end)):
                self._email(rng, agenda, queue, f"{queue.name}-E{tag}-{i:04d}", t0, fcr)

    def _agent(self, rng: random.Random, queue: Queue) -> str:
        prefix, pool = _AGENTS[queue.org]
        return f"{prefix}-{between(rng, 1, pool):03d}"

    def _live_contact(self, rng: random.Random, agenda: Agenda, queue: Queue, channel: Channel, contact_id: str,
                      t0: int, pressure: float, fcr: float) -> None:
        mean_wait = queue.mean_wait_s * pressure * (1.1 if channel is Channel.chat else 1.0)
        wait = int(rng.expovariate(1.0 / mean_wait) * SECOND_MS)
        patience = int(rng.expovariate(1.0 / queue.patience_s) * SECOND_MS)
        if rng.random() < _SHORT_ABANDON:
            patience = between(rng, 500, 5 * SECOND_MS)
        handle_median = queue.handle_s * (1.8 if channel is Channel.chat else 1.0)
        handle = int(lognormal(rng, handle_median, 0.6) * SECOND_MS)
        agent = self._agent(rng, queue)
        resolved = rng.random() < fcr
        if t0 < agenda.keep_from_ms:
            return
        agenda.add(t0, _call, contact_id, CallEventType.offered, channel, queue, t0, None, None, None, None, None)
        if patience < wait:
            agenda.add(t0 + patience, _call, contact_id, CallEventType.abandoned, channel, queue, t0 + patience, t0,
                       patience, None, None, None)
            return
        answered = t0 + wait
        agenda.add(answered, _call, contact_id, CallEventType.answered, channel, queue, answered, t0, wait, None,
                   agent, None)
        agenda.add(answered + handle, _call, contact_id, CallEventType.ended, channel, queue, answered + handle, t0,
                   wait, handle, agent, resolved)

    def _email(self, rng: random.Random, agenda: Agenda, queue: Queue, contact_id: str, t0: int, fcr: float) -> None:
        draw = rng.random()
        # Office time to the answer: most within a few hours, nearly all within one working day (8.5 h).
        if draw < 0.62:
            office = rng.uniform(5 * MINUTE_MS, 3 * HOUR_MS)
        elif draw < 0.95:
            office = rng.uniform(3 * HOUR_MS, 8.5 * HOUR_MS)
        else:
            office = rng.uniform(8.5 * HOUR_MS, 30 * HOUR_MS)
        answered = add_office_ms(t0, int(office))
        handle = int(lognormal(rng, 360, 0.5) * SECOND_MS)
        agent = self._agent(rng, queue)
        resolved = rng.random() < fcr
        if t0 < agenda.keep_from_ms:
            return
        agenda.add(t0, _call, contact_id, CallEventType.email_received, Channel.email, queue, t0, None, None, None,
                   None, None)
        agenda.add(answered, _call, contact_id, CallEventType.email_answered, Channel.email, queue, answered, t0,
                   answered - t0, handle, agent, resolved)

