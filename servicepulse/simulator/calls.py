"""Phone, chat and e-mail contacts per answer group (svarsgrupp), from offer or receipt to end or answer."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from dateutil.easter import easter

from servicepulse.domain.calendar import (
    HOUR_MS,
    MINUTE_MS,
    SECOND_MS,
    STOCKHOLM,
    add_office_ms,
    from_ms,
    is_working_day,
    local_ms,
    main_pay_date,
    next_working_day,
    office_window,
    slot_tag,
    to_ms,
)
from servicepulse.schemas.events import CallEvent, CallEventType, Channel

from .agenda import Agenda
from .randomness import between, lognormal, poisson, rng_for, uniform_times

__all__ = [
    "QUEUES",
    "CallFamily",
    "PlantedBreach",
    "Queue",
    "planted_contact_breaches",
    "planted_window_contact_breaches",
]

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
# First-contact resolution targets of the seeds (the SLA monitor's defaults), for the targets-met baseline.
_FCR_TARGET = {"payroll-service": 0.95, "manager-support": 1.0, "pension-group": 1.0, "vasby-direkt": 0.72}


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

    def __init__(self, seed: int, scale: float, targets_met: bool = False) -> None:
        self._seed = seed
        self._scale = scale
        # The "targets met" baseline: every answer group meets its service level and first-contact targets
        # with margin and every e-mail is answered within one working day, so only planted breaches alert.
        self._targets_met = targets_met

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
            if self._targets_met:
                target = _FCR_TARGET.get(queue.name, 0.80)
                fcr = 1.0 if target >= 0.99 else min(1.0, target + 0.12)
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
        if self._targets_met:
            # Waits spread over [0, threshold / 2); only short abandons (<= 5 s, excluded from offered) remain.
            wait %= queue.threshold_s * SECOND_MS // 2
            if patience > 5 * SECOND_MS:
                patience = max(patience, wait + 1)
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
        if self._targets_met:  # every e-mail answered within 6 of the 8.5 office hours of one working day
            office = 5 * MINUTE_MS + (office - 5 * MINUTE_MS) % (6 * HOUR_MS - 5 * MINUTE_MS)
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



# --------------------------------------------------------------------------- planted breaches (ground truth)


@dataclass(frozen=True)
class PlantedBreach:
    """A breach planted on purpose: the alert the SLA monitor must raise exactly once for it."""

    rule_id: str
    subject: str  # answer group, or complaint id; part of the alert key
    due_day: date | None  # local day the alert belongs to (deadline rules), None for window rules
    description: str
    alert_key: str = ""  # the exact key of the alert the monitor raises for it (window plants), if known


def _planted_call(cid: str, queue: Queue, offered: datetime, wait_s: int, answered: bool) -> list[CallEvent]:
    t0 = to_ms(offered)
    wait = wait_s * SECOND_MS
    if not answered:
        return [_call(cid, CallEventType.offered, Channel.phone, queue, t0, None, None, None, None, None),
                _call(cid, CallEventType.abandoned, Channel.phone, queue, t0 + wait, t0, wait, None, None, None)]
    agent = f"{_AGENTS[queue.org][0]}-001"
    return [_call(cid, CallEventType.offered, Channel.phone, queue, t0, None, None, None, None, None),
            _call(cid, CallEventType.answered, Channel.phone, queue, t0 + wait, t0, wait, None, agent, None),
            _call(cid, CallEventType.ended, Channel.phone, queue, t0 + wait + 240 * SECOND_MS, t0, wait,
                  240 * SECOND_MS, agent, True)]


def _planted_mail(cid: str, queue: Queue, received: datetime, answered: datetime | None) -> list[CallEvent]:
    t0 = to_ms(received)
    out = [_call(cid, CallEventType.email_received, Channel.email, queue, t0, None, None, None, None, None)]
    if answered is not None:
        t1 = to_ms(answered)
        out.append(_call(cid, CallEventType.email_answered, Channel.email, queue, t1, t0, t1 - t0, 300 * SECOND_MS,
                         f"{_AGENTS[queue.org][0]}-002", True))
    return out


def planted_contact_breaches(year: int = 2026) -> tuple[list[CallEvent], list[PlantedBreach]]:
    """A clean feed around Easter of `year` with three planted contact breaches, and their ground truth.

    - a quiet hour (12:00-13:00 on the Wednesday before Easter) in which pension-group answers 6 of 10 calls
      within 60 s (60 %), between busy hours answered within 20 s (100 %): one service-level alert;
    - an e-mail to payroll-service received on the Friday two weeks before Easter at 15:00 and left over the
      weekend until Tuesday (due Monday 15:00): one e-mail deadline alert;
    - an e-mail to kc-social received on Maundy Thursday at 16:00 and left over Easter until Wednesday (due
      Tuesday 16:00, opening hours 08:00-16:30): one e-mail deadline alert.
    Everything else is within target (e-mails over the same weekend and Easter answered in time). The last
    call, on the Thursday after Easter, moves the event-time clock past every deadline.
    """
    queues = {q.name: q for q in QUEUES}
    pension, payroll, social = queues["pension-group"], queues["payroll-service"], queues["kc-social"]
    easter_day = easter(year)
    wednesday = easter_day - timedelta(days=4)
    events: list[CallEvent] = []
    for hour in (9, 10, 11, 13, 14, 15):  # busy hours, every call answered within 20 s
        for i in range(12):
            at = datetime.combine(wednesday, time(hour, 2 + 5 * i), STOCKHOLM)
            events += _planted_call(f"planted-ok-{hour:02d}-{i:02d}", pension, at, 20, True)
    for i in range(10):  # the quiet hour: calls 1, 3, 5, 7 wait 150 s, the rest 20 s -> 6/10 within
        at = datetime.combine(wednesday, time(12, 3 + 6 * i), STOCKHOLM)
        events += _planted_call(f"planted-quiet-{i:02d}", pension, at, 150 if i % 2 else 20, True)
    weekend_friday = easter_day - timedelta(days=16)
    events += _planted_mail("planted-mail-weekend", payroll, datetime.combine(weekend_friday, time(15), STOCKHOLM),
                            datetime.combine(weekend_friday + timedelta(days=4), time(10), STOCKHOLM))
    events += _planted_mail("planted-mail-weekend-ok", payroll,
                            datetime.combine(weekend_friday, time(14), STOCKHOLM),
                            datetime.combine(weekend_friday + timedelta(days=3), time(9), STOCKHOLM))
    thursday = easter_day - timedelta(days=3)
    events += _planted_mail("planted-mail-easter", social, datetime.combine(thursday, time(16), STOCKHOLM),
                            datetime.combine(easter_day + timedelta(days=3), time(9), STOCKHOLM))
    events += _planted_mail("planted-mail-easter-ok", social, datetime.combine(thursday, time(15), STOCKHOLM),
                            datetime.combine(easter_day + timedelta(days=2), time(14), STOCKHOLM))
    events += _planted_call("planted-clock", pension,
                            datetime.combine(easter_day + timedelta(days=4), time(9), STOCKHOLM), 10, True)
    events.sort(key=lambda e: e.occurred_at)
    truth = [
        PlantedBreach("contact.service_level", pension.name, None,
                      f"quiet hour 12:00-13:00 on {wednesday}: 6 of 10 calls within 60 s"),
        PlantedBreach("contact.email_deadline", payroll.name, weekend_friday + timedelta(days=3),
                      f"e-mail of Friday {weekend_friday} 15:00 left over the weekend"),
        PlantedBreach("contact.email_deadline", social.name, easter_day + timedelta(days=2),
                      f"e-mail of Maundy Thursday {thursday} 16:00 left over Easter"),
    ]
    return events, truth


# ------------------------------------------------------------------ planted breaches inside any window (demo)

DIP_QUEUE = "pension-group"
DIP_CALLS = 30  # offered in one 5-minute step, of which DIP_WITHIN answered within 60 s
DIP_WITHIN = 18
_SETTLE = timedelta(days=1)  # every planted deadline passes at least this long before the window's end


def days_inside(start: datetime, end: datetime) -> list[date]:
    """Local days lying wholly inside [start, end)."""
    day = start.astimezone(STOCKHOLM).date()
    out = []
    while local_ms(day + timedelta(days=1), time(0)) <= to_ms(end):
        if local_ms(day, time(0)) >= to_ms(start):
            out.append(day)
        day += timedelta(days=1)
    return out


def planted_window_contact_breaches(start: datetime, end: datetime) -> tuple[list[CallEvent], list[PlantedBreach]]:
    """Two contact breaches on working days inside [start, end), settled a day before `end`, and their truth.

    - a service-level dip on the last working day that allows it: 30 pension-group calls offered 12:00-12:05,
      18 answered within 20 s and 12 after 150 s (60 %), then 15 calls answered within 20 s from 13:00: every
      rolling hour holding the 12:00 step is below 85 % (one raise, with the key of the window from 11:05),
      the first full hour after it is back at 100 % (one resolve);
    - an e-mail to payroll-service received at 15:00 on the last working day before days off that allows it,
      answered at 10:00 on the second working day after (due the next working day 15:00): one raise, one
      resolve.
    Meant for the targets-met baseline (SimConfig(targets_met=True)), in which nothing else breaches.
    """
    queues = {q.name: q for q in QUEUES}
    pension, payroll = queues[DIP_QUEUE], queues["payroll-service"]
    limit = to_ms(end - _SETTLE)
    days = [d for d in days_inside(start, end) if is_working_day(d)]
    dips = [d for d in days if local_ms(d, time(16)) <= limit]
    weekends = []
    for d in days:
        due = from_ms(add_office_ms(local_ms(d, time(15)), int(8.5 * HOUR_MS))).astimezone(STOCKHOLM).date()
        answer = next_working_day(due)
        if not is_working_day(d + timedelta(days=1)) and local_ms(answer, time(10)) <= limit:
            weekends.append((d, due, answer))
    if not dips or not weekends:
        raise ValueError(f"window {start.isoformat()} - {end.isoformat()} too short for planted breaches: it needs "
                         "a weekend and two working days after it, a day before its end (about 10 days)")
    dip = dips[-1]
    friday, due, answer = weekends[-1]
    tag = dip.strftime("%Y%m%d")
    events: list[CallEvent] = []
    for i in range(DIP_CALLS):
        at = datetime.combine(dip, time(12, i // 6, 10 * (i % 6)), STOCKHOLM)
        events += _planted_call(f"planted-{tag}-dip-{i:02d}", pension, at, 20 if i < DIP_WITHIN else 150, True)
    for i in range(15):
        at = datetime.combine(dip, time(13, 4 * i), STOCKHOLM)
        events += _planted_call(f"planted-{tag}-recovery-{i:02d}", pension, at, 20, True)
    mail_tag = friday.strftime("%Y%m%d")
    events += _planted_mail(f"planted-{mail_tag}-mail-weekend", payroll,
                            datetime.combine(friday, time(15), STOCKHOLM),
                            datetime.combine(answer, time(10), STOCKHOLM))
    events.sort(key=lambda e: e.occurred_at)
    window = datetime.combine(dip, time(11, 5), STOCKHOLM)
    truth = [
        PlantedBreach("contact.service_level", pension.name, None,
                      f"{dip} 12:00-12:05: {DIP_WITHIN} of {DIP_CALLS} pension-group calls answered within 60 s",
                      f"contact.service_level:{pension.name}:{window.isoformat()}"),
        PlantedBreach("contact.email_deadline", payroll.name, due,
                      f"e-mail of {friday} 15:00 left over the days off until {answer} 10:00 (due {due} 15:00)",
                      f"contact.email_deadline:{payroll.name}:{due.isoformat()}"),
    ]
    return events, truth
