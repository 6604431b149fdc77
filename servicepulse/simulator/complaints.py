"""Complaints, opinions and praise per customer and process, with their acknowledgement and closure."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from servicepulse.domain.calendar import (
    HOUR_MS,
    MINUTE_MS,
    STOCKHOLM,
    add_office_ms,
    from_ms,
    is_working_day,
    local_ms,
    office_window,
    slot_tag,
    to_ms,
)
from servicepulse.schemas.events import Complaint, ComplaintCategory, ComplaintEventType

from .agenda import Agenda
from .calls import PlantedBreach, days_inside
from .organisations import CUSTOMERS
from .randomness import WeightedPicker, lognormal, poisson, rng_for, uniform_times

__all__ = ["PROCESSES", "ComplaintFamily", "planted_complaint_breaches", "planted_window_complaint_breaches"]

COMPLAINTS_PER_WORKING_DAY = 18
PROCESSES = ("payroll", "pension", "supplier-invoices", "customer-invoices", "contact-centre")
_PROCESS_WEIGHTS = (30, 8, 15, 20, 27)
_STAFF_SHARE = 0.35  # registered by staff from calls and letters; the rest come in through the e-services
_DAY_OFF_FACTOR = 0.25
_OFFICE_HOURS = {8: 0.8, 9: 1.2, 10: 1.2, 11: 1.0, 12: 0.6, 13: 1.1, 14: 1.1, 15: 0.9, 16: 0.3}
_OFFICE_SHARE = {h: w / sum(_OFFICE_HOURS.values()) for h, w in _OFFICE_HOURS.items()}
_WEB_HOURS = (0.1, 0.05, 0.03, 0.03, 0.05, 0.1, 0.3, 0.6, 1.0, 1.1, 1.1, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 0.8,
              0.8, 0.9, 0.9, 0.7, 0.4, 0.2)
_WEB_SHARE = tuple(w / sum(_WEB_HOURS) for w in _WEB_HOURS)
_CONTACT_CENTRE_CUSTOMERS = ("Utbildningsförvaltningen", "Socialförvaltningen", "Stadsbyggnadskontoret",
                             "Trafikkontoret", "Upplands Väsby kommun")
_SUMMARIES: dict[str, dict[ComplaintCategory, tuple[str, ...]]] = {
    "payroll": {
        ComplaintCategory.complaint: ("Fel belopp på lönen", "OB-tillägg saknas", "Sen utbetalning av lön",
                                      "Felaktigt skatteavdrag", "Svar på e-post dröjde"),
        ComplaintCategory.opinion: ("Otydligt lönebesked", "Önskar bättre instruktioner på kundwebben"),
        ComplaintCategory.praise: ("Snabb hjälp med akut utbetalning", "Tydligt svar från löneservice"),
    },
    "pension": {
        ComplaintCategory.complaint: ("Pensionsbeslut dröjer", "Fel uppgift i pensionsunderlag"),
        ComplaintCategory.opinion: ("Svårt att hitta blankett för pension",),
        ComplaintCategory.praise: ("Bra information om pension",),
    },
    "supplier-invoices": {
        ComplaintCategory.complaint: ("Faktura betald för sent", "Faktura betald två gånger",
                                      "Faktura saknas i flödet"),
        ComplaintCategory.opinion: ("Önskar e-faktura i stället för papper",),
        ComplaintCategory.praise: ("Snabb rättelse av faktura",),
    },
    "customer-invoices": {
        ComplaintCategory.complaint: ("Påminnelse trots betalning", "Fel belopp på faktura",
                                      "Inkassokrav trots anstånd"),
        ComplaintCategory.opinion: ("Otydlig fakturatext", "Önskar autogiro"),
        ComplaintCategory.praise: ("Smidig avbetalningsplan",),
    },
    "contact-centre": {
        ComplaintCategory.complaint: ("Lång väntetid i telefon", "Fick inte svar på e-post", "Kopplades fel"),
        ComplaintCategory.opinion: ("Önskar längre öppettider", "Önskar chatt på helger"),
        ComplaintCategory.praise: ("Vänligt bemötande", "Fick hjälp direkt"),
    },
}


def _complaint(complaint_id: str, event_type: ComplaintEventType, at_ms: int, customer: str, process: str,
               channel: str, category: ComplaintCategory, registered_by: str | None, summary: str) -> Complaint:
    return Complaint(
        event_id=f"{complaint_id}:{event_type.value}",
        complaint_id=complaint_id,
        event_type=event_type,
        occurred_at=from_ms(at_ms),
        customer=customer,
        process=process,
        channel=channel,
        category=category,
        registered_by=registered_by,
        summary=summary,
        source="simulator",
    )


class ComplaintFamily:
    """Generates the registrations of a slot and schedules their acknowledgement and closure."""

    name = "complaints"
    warmup_ms = 0

    def __init__(self, seed: int, scale: float, targets_met: bool = False) -> None:
        self._seed = seed
        self._scale = scale
        # The "targets met" baseline: every complaint acknowledged within 5 of the 8 office hours allowed and
        # closed within 3 working days, so the open backlog stays far below the alert threshold.
        self._targets_met = targets_met
        self._process = WeightedPicker(PROCESSES, _PROCESS_WEIGHTS)
        self._payroll_customer = WeightedPicker([c.name for c in CUSTOMERS], [c.employees for c in CUSTOMERS])
        self._cc_customer = WeightedPicker(_CONTACT_CENTRE_CUSTOMERS, (3, 2, 1.5, 3, 1))
        self._category = WeightedPicker(tuple(ComplaintCategory), (60, 28, 12))

    def generate(self, slot_ms: int, agenda: Agenda) -> None:
        if self._scale <= 0:
            return
        local = from_ms(slot_ms).astimezone(STOCKHOLM)
        day, hour = local.date(), local.hour
        working = is_working_day(day)
        rng = rng_for(self._seed, self.name, slot_ms)
        per_day = COMPLAINTS_PER_WORKING_DAY * self._scale
        web_rate = per_day * (1 - _STAFF_SHARE) * _WEB_SHARE[hour] * (1.0 if working else _DAY_OFF_FACTOR)
        arrivals = [(t, "") for t in uniform_times(rng, poisson(rng, web_rate), slot_ms, slot_ms + HOUR_MS)]
        window = office_window(day) if working else None
        if window is not None and hour in _OFFICE_SHARE:
            lo, hi = max(slot_ms, window[0]), min(slot_ms + HOUR_MS, window[1])
            staff_rate = per_day * _STAFF_SHARE * _OFFICE_SHARE[hour]
            arrivals += [(t, "staff") for t in uniform_times(rng, poisson(rng, staff_rate), lo, hi)]
        arrivals.sort()
        tag = slot_tag(slot_ms)
        for i, (t0, channel) in enumerate(arrivals):
            self._story(rng, agenda, f"SYN-{tag}-{i:03d}", t0, channel)

    def _story(self, rng: random.Random, agenda: Agenda, complaint_id: str, t0: int, channel: str) -> None:
        if not channel:
            channel = "tyck_till" if rng.random() < 0.6 else "kundwebb"
        process = self._process.pick(rng)
        if process in ("payroll", "pension"):
            customer = self._payroll_customer.pick(rng)
        elif process == "contact-centre":
            customer = self._cc_customer.pick(rng)
        else:
            customer = rng.choice(CUSTOMERS).name
        category = self._category.pick(rng)
        summary = rng.choice(_SUMMARIES[process][category])
        registered_by = f"HS-{rng.randrange(1, 81):03d}" if channel == "staff" else None
        draw = rng.random()
        # Office time to acknowledge: usually within a few office hours, nearly always within two days.
        if draw < 0.7:
            ack_office = rng.uniform(10 * MINUTE_MS, 4 * HOUR_MS)
        elif draw < 0.95:
            ack_office = rng.uniform(4 * HOUR_MS, 17 * HOUR_MS)
        else:
            ack_office = rng.uniform(17 * HOUR_MS, 40 * HOUR_MS)
        if category is ComplaintCategory.praise:
            close_office = rng.uniform(5 * MINUTE_MS, 2 * HOUR_MS)
        else:
            close_office = min(40 * 8.5 * HOUR_MS, max(30 * MINUTE_MS, lognormal(rng, 17 * HOUR_MS, 0.9)))
        if self._targets_met:
            ack_office = 10 * MINUTE_MS + (ack_office - 10 * MINUTE_MS) % (5 * HOUR_MS - 10 * MINUTE_MS)
            close_office = min(close_office, 3 * 8.5 * HOUR_MS)
        acknowledged = add_office_ms(t0, int(ack_office))
        closed = add_office_ms(acknowledged, int(close_office))
        if t0 < agenda.keep_from_ms:
            return
        common = (customer, process, channel, category, registered_by, summary)
        agenda.add(t0, _complaint, complaint_id, ComplaintEventType.registered, t0, *common)
        agenda.add(acknowledged, _complaint, complaint_id, ComplaintEventType.acknowledged, acknowledged, *common)
        agenda.add(closed, _complaint, complaint_id, ComplaintEventType.closed, closed, *common)


def planted_complaint_breaches(year: int = 2026) -> tuple[list[Complaint], list[PlantedBreach]]:
    """A clean complaint feed in March of `year` (each acknowledged within 2 office hours and closed the next
    working day) with one planted complaint that is never acknowledged, and its ground truth."""
    events: list[Complaint] = []
    day = date(year, 3, 2)
    customers = [c.name for c in CUSTOMERS[:5]]
    n = 0
    while day < date(year, 3, 21):
        if is_working_day(day):
            for hour in (9, 13):
                cid = f"SYN-PLANTED-{n:03d}"
                t0 = local_ms(day, time(hour))
                common = (customers[n % len(customers)], PROCESSES[n % len(PROCESSES)], "tyck_till",
                          ComplaintCategory.complaint, None, "Svar på e-post dröjde")
                events.append(_complaint(cid, ComplaintEventType.registered, t0, *common))
                events.append(_complaint(cid, ComplaintEventType.acknowledged, add_office_ms(t0, 2 * HOUR_MS),
                                         *common))
                events.append(_complaint(cid, ComplaintEventType.closed, add_office_ms(t0, 10 * HOUR_MS), *common))
                n += 1
        day += timedelta(days=1)
    never = "SYN-PLANTED-NOACK"
    t0 = local_ms(date(year, 3, 4), time(10))
    events.append(_complaint(never, ComplaintEventType.registered, t0, "Socialförvaltningen", "payroll", "kundwebb",
                             ComplaintCategory.complaint, None, "Fel belopp på lönen"))
    events.sort(key=lambda e: e.occurred_at)
    return events, [PlantedBreach("complaints.ack_deadline", never, None,
                                  f"complaint registered {date(year, 3, 4)} 10:00, never acknowledged")]


def planted_window_complaint_breaches(start: datetime, end: datetime) -> tuple[list[Complaint], list[PlantedBreach]]:
    """One complaint never acknowledged, registered at 10:00 on the second working day inside [start, end)
    (in the history, its 8-office-hour deadline the next working day 09:30, at least a day before `end`), and
    its ground truth. Meant for the targets-met baseline (SimConfig(targets_met=True))."""
    days = [d for d in days_inside(start, end) if is_working_day(d)]
    limit = to_ms(end - timedelta(days=1))
    fitting = [d for d in days[1:] if add_office_ms(local_ms(d, time(10)), 8 * HOUR_MS) <= limit]
    if not fitting:
        raise ValueError(f"window {start.isoformat()} - {end.isoformat()} too short for a planted complaint")
    day = fitting[0]
    cid = f"SYN-PLANTED-NOACK-{day.strftime('%Y%m%d')}"
    event = _complaint(cid, ComplaintEventType.registered, local_ms(day, time(10)), "Socialförvaltningen", "payroll",
                       "kundwebb", ComplaintCategory.complaint, None, "Fel belopp på lönen")
    return [event], [PlantedBreach("complaints.ack_deadline", cid, None,
                                   f"complaint registered {day} 10:00, never acknowledged",
                                   f"complaints.ack_deadline:{cid}")]
