"""Unit tests of the simulator: determinism, chunk invariance, calendar rules and realistic volumes."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import pytest
from pydantic import BaseModel

from servicepulse.domain.calendar import add_office_ms, holiday_name, to_ms
from servicepulse.schemas.events import (
    CallEvent,
    CallEventType,
    CaseEvent,
    Channel,
    Complaint,
    ComplaintEventType,
    Event,
    InvoicePosting,
    PayCategory,
    PayLine,
    PayrollRun,
    PayrollRunKind,
    PayrollRunStatus,
    PostingKind,
)
from servicepulse.simulator import STOCKHOLM, SimConfig, Simulator, event_time, is_working_day, main_pay_date
from servicepulse.simulator.finance import luhn_valid
from servicepulse.simulator.payroll_family import Roster


def _at(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=STOCKHOLM)


def _run(config: SimConfig, start: datetime, end: datetime) -> list[Event]:
    return Simulator(config, start).advance(end)


def _local(event: Event) -> datetime:
    return event_time(event).astimezone(STOCKHOLM)


# Friday noon to Tuesday morning: crosses midnights, a weekend and the opening of October's main runs.
_SPAN = (_at(date(2026, 10, 16), 12), _at(date(2026, 10, 20), 9))


@lru_cache(maxsize=1)
def _span_events() -> tuple[Event, ...]:
    return tuple(_run(SimConfig(seed=7, scale=0.05), *_SPAN))


def test_same_seed_gives_identical_events() -> None:
    start, end = _at(date(2026, 10, 13)), _at(date(2026, 10, 14), 12)
    first = _run(SimConfig(seed=3, scale=0.05), start, end)
    second = _run(SimConfig(seed=3, scale=0.05), start, end)
    assert len(first) > 1000
    assert first == second


def test_different_seed_gives_different_events() -> None:
    start, end = _at(date(2026, 10, 13)), _at(date(2026, 10, 14))
    first = _run(SimConfig(seed=3, scale=0.05), start, end)
    second = _run(SimConfig(seed=4, scale=0.05), start, end)
    assert first != second
    assert {e.event_id for e in first if isinstance(e, CallEvent)} != {
        e.event_id for e in second if isinstance(e, CallEvent)
    }


def test_output_does_not_depend_on_the_hash_seed_of_the_process() -> None:
    code = (
        "import hashlib; from datetime import datetime; from servicepulse.simulator import *\n"
        "s = datetime(2026, 10, 16, 12, tzinfo=STOCKHOLM)\n"
        "ev = Simulator(SimConfig(seed=5, scale=0.02), s).advance(datetime(2026, 10, 17, tzinfo=STOCKHOLM))\n"
        "print(hashlib.sha256(b''.join(e.model_dump_json().encode() for e in ev)).hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("1", "987"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    local = Simulator(SimConfig(seed=5, scale=0.02), _at(date(2026, 10, 16), 12)).advance(_at(date(2026, 10, 17)))
    digests.add(hashlib.sha256(b"".join(e.model_dump_json().encode() for e in local)).hexdigest())
    assert len(digests) == 1


@pytest.mark.parametrize("steps", [
    [timedelta(seconds=1), timedelta(minutes=7, seconds=13), timedelta(minutes=53), timedelta(hours=3, minutes=17)],
    [timedelta(seconds=37)],
    [timedelta(hours=1)],
])
def test_chunked_advance_equals_one_advance(steps: list[timedelta]) -> None:
    start, end = _SPAN
    sim = Simulator(SimConfig(seed=7, scale=0.05), start)
    chunked: list[Event] = []
    until, i = start, 0
    while until < end:
        until = min(end, until + steps[i % len(steps)])
        i += 1
        batch = sim.advance(until)
        assert all(event_time(e) < until for e in batch)
        chunked.extend(batch)
    whole = list(_span_events())
    assert len(whole) > 10_000
    assert {type(e) for e in whole} == {CallEvent, InvoicePosting, PayrollRun, PayLine, Complaint, CaseEvent}
    assert chunked == whole


def test_advance_returns_each_window_once_and_sorted() -> None:
    start = _at(date(2026, 10, 13), 8)
    sim = Simulator(SimConfig(seed=1, scale=0.05), start)
    assert sim.advance(start) == []
    first = sim.advance(start + timedelta(hours=2))
    assert sim.advance(start + timedelta(hours=1)) == []  # going back yields nothing
    second = sim.advance(start + timedelta(hours=3))
    times = [event_time(e) for e in first + second]
    assert times == sorted(times)
    assert all(start <= t < start + timedelta(hours=2) for t in map(event_time, first))
    assert all(start + timedelta(hours=2) <= t < start + timedelta(hours=3) for t in map(event_time, second))
    with pytest.raises(ValueError, match="naive"):
        sim.advance(datetime(2026, 10, 14))  # noqa: DTZ001


def _datetimes(model: BaseModel) -> list[datetime]:
    return [v for v in model.__dict__.values() if isinstance(v, datetime)]


def test_every_event_is_valid_and_tz_aware() -> None:
    events = _span_events()
    for event in events:
        assert type(event).model_validate(event.model_dump()) == event
        for moment in _datetimes(event):
            assert moment.tzinfo is not None and moment.utcoffset() is not None
        # The base `Event` declares no fields (subclass field order is the Avro schema); every model has `source`.
        assert event.source == "simulator"  # type: ignore[attr-defined]


def test_event_ids_are_unique() -> None:
    events = _run(SimConfig(seed=2, scale=0.05), _at(date(2026, 10, 1)), _at(date(2026, 10, 31)))
    by_type: dict[type, Counter[str]] = defaultdict(Counter)
    for event in events:
        by_type[type(event)][event.event_id] += 1  # type: ignore[attr-defined]  # every model has event_id, see above
    for kind, ids in by_type.items():
        duplicates = [i for i, n in ids.items() if n > 1]
        assert not duplicates, (kind.__name__, duplicates[:5])


def test_no_personnummer_and_pseudonymous_ids() -> None:
    personnummer = re.compile(r"(?<!\d)(19|20)?\d{6}[-+]\d{4}(?!\d)")
    for event in _span_events():
        for value in event.model_dump().values():
            if isinstance(value, str):
                assert not personnummer.search(value), value
        if isinstance(event, PayLine):
            assert re.fullmatch(r"A\d{6}", event.employee_id)


def test_calendar_knows_swedish_days_off() -> None:
    for day in (date(2026, 12, 24), date(2026, 12, 31), date(2026, 6, 19), date(2026, 5, 14), date(2026, 12, 25),
                date(2026, 1, 6), date(2026, 10, 17), date(2026, 10, 18)):
        assert not is_working_day(day), day
    for day in (date(2026, 10, 16), date(2026, 6, 18), date(2026, 12, 23), date(2026, 5, 15)):
        assert is_working_day(day), day
    assert holiday_name(date(2026, 12, 24)) == "Julafton"
    assert holiday_name(date(2026, 10, 18)) is None  # an ordinary Sunday is a weekend day, not a named holiday


def test_main_run_pay_date_rule() -> None:
    assert main_pay_date(2026, 10) == date(2026, 10, 23)  # the 25th is a Sunday
    assert main_pay_date(2026, 12) == date(2026, 12, 23)  # 25th Christmas Day, 24th julafton
    assert main_pay_date(2026, 6) == date(2026, 6, 25)  # a Thursday
    assert main_pay_date(2027, 4) == date(2027, 4, 23)
    runs = [e for e in _span_events() if isinstance(e, PayrollRun) and e.kind is PayrollRunKind.main]
    assert runs and all(r.pay_date == date(2026, 10, 23) and r.period == "2026-10" for r in runs)
    assert all(r.run_id.endswith("-2026-10-main") for r in runs)
    assert all(r.occurred_at.astimezone(STOCKHOLM).date() == date(2026, 10, 20) for r in runs)


def test_no_phone_or_chat_outside_office_hours() -> None:
    config = SimConfig(seed=11, scale=0.3, finance=0, payroll=0, complaints=0)
    events = _run(config, _at(date(2026, 12, 19)), _at(date(2027, 1, 8)))
    events += _run(config, _at(date(2026, 6, 17)), _at(date(2026, 6, 23)))
    offered = [e for e in events if isinstance(e, CallEvent) and e.event_type is CallEventType.offered]
    assert len(offered) > 1000
    for event in offered:
        local = _local(event)
        assert is_working_day(local.date()), event.event_id
        assert time(8) <= local.time() < time(16, 30), event.event_id
    days = {_local(e).date() for e in offered}
    for day_off in (date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 6),
                    date(2026, 6, 19), date(2026, 12, 26), date(2026, 12, 27)):
        assert day_off not in days
    # E-mail keeps arriving on days off, at night too.
    mail_days = {_local(e).date() for e in events if isinstance(e, CallEvent) and e.channel is Channel.email}
    assert {date(2026, 12, 24), date(2026, 12, 25), date(2026, 6, 20)} <= mail_days


@lru_cache(maxsize=1)
def _call_events() -> tuple[Event, ...]:
    config = SimConfig(seed=5, scale=0.4, finance=0, payroll=0, complaints=0, cases=0)
    return tuple(_run(config, _at(date(2026, 10, 5)), _at(date(2026, 10, 24))))


def test_call_lifecycles_are_consistent_and_near_targets() -> None:
    events = _call_events()
    contacts: dict[str, list[CallEvent]] = defaultdict(list)
    for event in events:
        assert isinstance(event, CallEvent)
        contacts[event.contact_id].append(event)
    within = answered_or_late = resolved = ended = short = 0
    for steps in contacts.values():
        kinds = [s.event_type for s in steps]
        first = steps[0]
        assert all(s.event_id == f"{s.contact_id}:{s.event_type.value}" for s in steps)
        if first.channel is Channel.email:
            assert kinds in ([CallEventType.email_received, CallEventType.email_answered],
                             [CallEventType.email_received])  # answered after the window
            continue
        if len(kinds) < 2 or kinds == [CallEventType.offered, CallEventType.answered]:
            assert first.occurred_at > _at(date(2026, 10, 23), 16)  # still running when the window ends
            continue
        assert kinds in ([CallEventType.offered, CallEventType.abandoned],
                         [CallEventType.offered, CallEventType.answered, CallEventType.ended])
        last = steps[-1]
        assert last.offered_at == first.occurred_at
        assert last.wait_ms is not None
        if kinds[1] is CallEventType.abandoned:
            if last.wait_ms <= 5_000:
                short += 1
                continue
            answered_or_late += 1
            continue
        answer = steps[1]
        assert answer.offered_at is not None and answer.wait_ms is not None
        assert answer.agent_id and answer.occurred_at - answer.offered_at == timedelta(milliseconds=answer.wait_ms)
        assert last.handle_ms is not None and last.resolved_first_contact is not None
        limit = 120_000 if first.queue == "vasby-direkt" else 60_000
        answered_or_late += 1
        within += answer.wait_ms <= limit
        ended += 1
        resolved += last.resolved_first_contact
    assert short > 0
    assert 0.80 <= within / answered_or_late <= 0.92
    assert 0.78 <= resolved / ended <= 0.9


def test_email_is_mostly_answered_within_one_working_day() -> None:
    events = _call_events()
    answers = [e for e in events if isinstance(e, CallEvent) and e.event_type is CallEventType.email_answered]
    assert len(answers) > 1000
    on_time = sum(to_ms(e.occurred_at) <= add_office_ms(to_ms(e.offered_at), 8 * 3_600_000 + 1_800_000)
                  for e in answers if e.offered_at is not None)
    assert 0.9 <= on_time / len(answers) < 1.0  # mostly, and a few late ones for the alerts to catch


def test_closed_run_totals_equal_its_lines() -> None:
    payroll_only = SimConfig(seed=9, calls=0, finance=0, complaints=0)
    main_runs = _run(replace(payroll_only, scale=0.02), _at(date(2026, 10, 19)), _at(date(2026, 10, 23)))
    urgent_runs = _run(payroll_only, _at(date(2026, 10, 5)), _at(date(2026, 10, 10)))
    events = main_runs + urgent_runs
    lines: dict[str, list[PayLine]] = defaultdict(list)
    closed: dict[str, PayrollRun] = {}
    opened: set[str] = set()
    for event in events:
        if isinstance(event, PayLine):
            assert event.run_id in opened
            lines[event.run_id].append(event)
        elif isinstance(event, PayrollRun):
            if event.status is PayrollRunStatus.opened:
                opened.add(event.run_id)
            else:
                closed[event.run_id] = event
    assert sum(r.kind is PayrollRunKind.main for r in closed.values()) == 31
    assert 8 <= sum(r.kind is PayrollRunKind.urgent for r in closed.values()) <= 40  # ~4 per working day
    for run_id, header in closed.items():
        run_lines = lines[run_id]
        assert header.line_count == len(run_lines)
        assert header.gross_ore == sum(x.amount_ore for x in run_lines if x.category is PayCategory.gross)
        assert header.net_ore == sum(x.amount_ore for x in run_lines if x.category is PayCategory.net)
        assert [x.line_no for x in run_lines] == list(range(1, len(run_lines) + 1))
        assert max(x.occurred_at for x in run_lines) < header.occurred_at
        if header.kind is PayrollRunKind.urgent:
            assert header.payment_channel in ("girovision", "agresso")
            assert 1 <= len({x.employee_id for x in run_lines}) <= 3
    # Per employee: net pay is gross less tax and deductions plus tax-free reimbursements.
    per_employee: dict[tuple[str, str], int] = defaultdict(int)
    net: dict[tuple[str, str], int] = {}
    for run_lines in lines.values():
        for x in run_lines:
            key = (x.run_id, x.employee_id)
            if x.category is PayCategory.net:
                net[key] = x.amount_ore
                assert x.amount_ore >= 0
            elif x.category is not PayCategory.pension:
                per_employee[key] += x.amount_ore
    assert per_employee == net


def test_roster_size_scales() -> None:
    assert 55_000 <= len(Roster(1, 1.0)) <= 57_000
    assert 5_500 <= len(Roster(1, 0.1)) <= 5_700
    assert Roster(1, 0.1).by_customer["UTB"][0] == Roster(1, 0.1).by_customer["UTB"][0]


def _origins(events: list[Event]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for e in events:
        if isinstance(e, CallEvent) and e.event_type in (CallEventType.offered, CallEventType.email_received):
            counts[e.event_type.value] += 1
        elif isinstance(e, InvoicePosting):
            counts[e.kind.value] += 1
        elif isinstance(e, Complaint) and e.event_type is ComplaintEventType.registered:
            counts["complaint"] += 1
    return counts


@pytest.mark.parametrize(("scale", "low", "high"), [(1.0, 0.8, 1.25), (0.1, 0.65, 1.4)])
def test_volumes_of_a_working_day(scale: float, low: float, high: float) -> None:
    day = date(2026, 10, 13)  # an ordinary Tuesday
    counts = _origins(_run(SimConfig(seed=1, scale=scale, payroll=0), _at(day), _at(day + timedelta(days=1))))
    expected = {
        "offered": 4_700,  # ~4,100 phone calls and ~480 chats over the eight answer groups
        "email_received": 1_250,
        "supplier_invoice": 4_950,  # 1.2 M a year
        "customer_invoice": 7_000,  # 1.7 M a year
        # Payments of invoices registered before the day (warm-up). Bank files carry the weekend's payments
        # on Monday and supplier payments due on a weekend leave on Friday, so a Tuesday has fewer.
        "incoming_payment": 4_600,
        "outgoing_payment": 3_500,
    }
    for key, per_day in expected.items():
        assert low * per_day * scale <= counts[key] <= high * per_day * scale, (key, counts[key])
    assert int(8 * scale) <= counts["complaint"] <= 40 * scale + 5  # ~18 a working day at scale 1


def test_unidentified_payments_hit_9894_and_some_are_rebooked() -> None:
    config = SimConfig(seed=4, scale=0.05, calls=0, payroll=0, complaints=0)
    events = _run(config, _at(date(2026, 9, 1)), _at(date(2026, 10, 15)))
    postings = [e for e in events if isinstance(e, InvoicePosting)]
    suspense = {(p.company, p.voucher_number): p for p in postings
                if p.account == "9894" and p.kind is PostingKind.incoming_payment}
    on_suspense = [p for p in postings if p.account == "9894" and p.kind is PostingKind.ledger_posting]
    # Corrections: a re-booking to the wrong account reversed ("Återföring av ver M n") and made again from the
    # reversal ("Omförd från ver M n1"); the first re-booking names the bank voucher.
    rebooked = [p for p in on_suspense if (p.text or "").startswith("Omförd från ver B")]
    corrections = [p for p in on_suspense if p not in rebooked]
    assert corrections and all(re.fullmatch(r"(Återföring av|Omförd från) ver M \d+", p.text or "")
                               for p in corrections)
    memo: dict[tuple[str, str | None], int] = {}
    for p in postings:
        if p.kind is PostingKind.ledger_posting:
            memo[(p.company, p.voucher_number)] = memo.get((p.company, p.voucher_number), 0) + p.amount_ore
    assert set(memo.values()) == {0}  # every memorial voucher balances, corrections included
    assert len(suspense) > 50 and len(rebooked) > 20
    matched = 0
    for line in rebooked:
        number = re.fullmatch(r"Omförd från ver B (\d+)", line.text or "")
        assert number is not None and line.amount_ore > 0
        original = suspense.get((line.company, number.group(1)))
        if original is None:
            continue  # paid before the start; only its clearing is in the window
        matched += 1
        assert original.amount_ore == -line.amount_ore and original.recorded_at < line.recorded_at
        assert line.registered_by != line.approved_by
    assert matched > 10
    assert len(suspense) > matched  # some stay open, for the ageing
    vouchers = {(p.company, p.voucher_number): p.amount_ore for p in rebooked}
    counter_lines = {(p.company, p.voucher_number): p.amount_ore for p in postings
                     if p.account in ("1510", "3990") and (p.company, p.voucher_number) in vouchers
                     and p.kind is PostingKind.ledger_posting}
    assert counter_lines == {key: -amount for key, amount in vouchers.items()}  # each voucher balances
    assert any(p.account == "9896" for p in postings)
    for p in postings:
        if p.kind is PostingKind.customer_invoice:
            assert p.reference is not None and luhn_valid(p.reference)
            assert p.account == "1510" and p.due_date is not None
        elif p.kind is PostingKind.supplier_invoice:
            assert p.account == "2440" and p.registered_by != p.approved_by and p.approved_by
        assert p.posting_date == p.recorded_at.astimezone(STOCKHOLM).date()
        assert p.voucher_series and p.voucher_number
    assert all(is_working_day(p.posting_date) for p in postings)


def test_complaints_are_acknowledged_then_closed() -> None:
    config = SimConfig(seed=8, scale=1.0, calls=0, finance=0, payroll=0, cases=0)
    events = _run(config, _at(date(2026, 10, 1)), _at(date(2026, 11, 15)))
    steps: dict[str, list[Complaint]] = defaultdict(list)
    for event in events:
        assert isinstance(event, Complaint)
        steps[event.complaint_id].append(event)
    assert len(steps) > 300
    assert {s[0].process for s in steps.values()} == {
        "payroll", "pension", "supplier-invoices", "customer-invoices", "contact-centre"}
    assert {s[0].channel for s in steps.values()} == {"tyck_till", "kundwebb", "staff"}
    for history in steps.values():
        kinds = [s.event_type for s in history]
        assert kinds == [ComplaintEventType.registered, ComplaintEventType.acknowledged,
                         ComplaintEventType.closed][: len(kinds)]
        assert len({(s.customer, s.process, s.category) for s in history}) == 1
