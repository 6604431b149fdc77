"""Account 9894 followed to clearing: open items per company, their age in working days, the yearly count.

Pure functions over ledger postings; `connectors/migrations/0200_finance_suspense.sql` computes the same open
items in ClickHouse (`v_suspense_open_items`) from the exact raw table, so replays never change them.

An *open item* is one voucher's credit on a suspense account (9894, or its customer-ledger sibling 9896): the
money came in, the owner is unknown. A *clearing* is a debit on the same company and account (the re-booking
to the real account). Matching is deterministic, in three passes:

1. **Reference**: a clearing whose text names a voucher ("Omförd från ver B 4711", pattern `REFERENCE`) clears
   that item of the same company and account, up to its amount; any excess joins pass 3. A clearing naming
   a voucher that is not among the items (opened before the data begins) clears nothing else.
2. **Same amount**: the remaining clearings are paired with items of exactly the same amount that no
   reference touched, k-th oldest clearing with k-th oldest item (order: date, then event id / voucher).
3. **Oldest first**: what is left clears the remaining open amounts in order of opening (date, series,
   number), fully or partly.

Clearings count whatever their date (a re-booking dated before its payment is a data error, not a reason to
leave the item open).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from orjson import loads as orjson_loads

from servicepulse.domain.calendar import is_working_day
from servicepulse.domain.money import format_amount
from servicepulse.domain.parameters import default_parameters
from servicepulse.domain.rules import Rule, build_alert, build_finding
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, AlertState, Finding, InvoicePosting, Severity

from .rules import SUSPENSE_AGED

__all__ = [
    "REFERENCE",
    "OpenItem",
    "YearCount",
    "aged_alerts",
    "aged_findings",
    "breached_on",
    "open_items",
    "working_days_between",
    "year_over_year",
]

# Same pattern as the ClickHouse view (re2 syntax): "ver B 4711", "Ver. M12" is not matched, keep it simple.
REFERENCE = re.compile(r"(?i)\bver\s+([A-Za-z]{1,3})\s*(\d+)")
# The suspense accounts of the parameters file (also written to `finance_suspense_accounts` for the views).
SUSPENSE_ACCOUNTS = frozenset(default_parameters().suspense_accounts)


@dataclass(frozen=True)
class OpenItem:
    company: str
    account: str
    voucher_series: str
    voucher_number: str
    opened_on: date
    amount_ore: int  # the original amount, positive
    open_ore: int  # what is still open
    event_ids: tuple[str, ...]


def _voucher(p: InvoicePosting) -> tuple[str, str]:
    return p.voucher_series or "", p.voucher_number or p.event_id


def open_items(postings: Iterable[InvoicePosting], accounts: frozenset[str] = SUSPENSE_ACCOUNTS,
               include_cleared: bool = False) -> list[OpenItem]:
    """The open items on `accounts`, in order of (company, account, opened_on, series, number)."""
    opening: dict[tuple[str, str, str, str], list[InvoicePosting]] = defaultdict(list)
    clearings: list[InvoicePosting] = []
    seen: set[str] = set()
    for p in postings:
        if p.account not in accounts or p.event_id in seen:
            continue
        seen.add(p.event_id)
        if p.amount_ore < 0:
            opening[(p.company, p.account, *_voucher(p))].append(p)
        elif p.amount_ore > 0:
            clearings.append(p)
    items = {
        key: OpenItem(key[0], key[1], key[2], key[3], min(p.posting_date for p in lines),
                      -sum(p.amount_ore for p in lines), -sum(p.amount_ore for p in lines),
                      tuple(sorted(p.event_id for p in lines)))
        for key, lines in opening.items()
    }
    # Pass 1: references.
    index = {(k[0], k[1], k[2].upper(), k[3]): k for k in items}
    referenced: dict[tuple[str, str, str, str], int] = defaultdict(int)
    unresolved: list[InvoicePosting] = []
    for c in clearings:
        m = REFERENCE.search(c.text or "")
        if m is None:
            unresolved.append(c)
            continue
        match = index.get((c.company, c.account, m.group(1).upper(), m.group(2)))
        if match is not None:
            referenced[match] += c.amount_ore
        # A re-booking naming a voucher that is not here (opened before the data begins) clears nothing else.
    pool: dict[tuple[str, str], int] = defaultdict(int)
    for key, amount in referenced.items():
        item = items[key]
        cleared = min(amount, item.amount_ore)
        pool[key[:2]] += amount - cleared
        items[key] = replace(item, open_ore=item.amount_ore - cleared)
    # Pass 2: same amount, k-th with k-th.
    by_amount: dict[tuple[str, str, int], list[tuple[str, str, str, str]]] = defaultdict(list)
    for key in sorted(items, key=lambda k: (items[k].opened_on, k[2], k[3])):
        if key not in referenced:
            by_amount[(key[0], key[1], items[key].amount_ore)].append(key)
    rank: dict[tuple[str, str, int], int] = defaultdict(int)
    for c in sorted(unresolved, key=lambda c: (c.posting_date, c.event_id)):
        group = (c.company, c.account, c.amount_ore)
        candidates = by_amount.get(group, [])
        k = rank[group]
        rank[group] += 1
        if k < len(candidates):
            items[candidates[k]] = replace(items[candidates[k]], open_ore=0)
        else:
            pool[(c.company, c.account)] += c.amount_ore
    # Pass 3: oldest first.
    for key in sorted(items, key=lambda k: (k[0], k[1], items[k].opened_on, k[2], k[3])):
        item = items[key]
        take = min(item.open_ore, pool[key[:2]])
        if take > 0:
            pool[key[:2]] -= take
            items[key] = replace(item, open_ore=item.open_ore - take)
    ordered = sorted(items.values(), key=lambda i: (i.company, i.account, i.opened_on, i.voucher_series,
                                                     i.voucher_number))
    return [i for i in ordered if include_cleared or i.open_ore > 0]


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 on the day it opened, weekends and Swedish
    public and de-facto holidays not counted), as in the view."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += is_working_day(day)
    return days


def aged_findings(items: Sequence[OpenItem], rule: Rule = SUSPENSE_AGED, today: date | None = None,
                  now: datetime | None = None) -> list[Finding]:
    """Items open longer than `max_working_days` working days by `today` (default: now's Stockholm date), or
    above `max_open_ore`."""
    max_days, max_open = rule["max_working_days"], rule["max_open_ore"]
    if today is None:
        today = (now or datetime.now(STOCKHOLM)).astimezone(STOCKHOLM).date()
    out = []
    for item in items:
        age = working_days_between(item.opened_on, today)
        reasons = []
        if age > max_days:
            reasons.append("age")
        if item.open_ore > max_open:
            reasons.append("amount")
        if not reasons:
            continue
        voucher = f"{item.voucher_series} {item.voucher_number}".strip()
        # One finding per item and reason: the id does not move as the item keeps ageing.
        out.append(build_finding(
            rule, key=(item.company, item.account, voucher, *reasons),
            severity=Severity.high if "amount" in reasons or age > 3 * max_days else Severity.medium,
            subject_type="voucher", subject_id=f"{item.company}:{voucher}", company=item.company,
            occurred_at=datetime.combine(item.opened_on, time(12), STOCKHOLM),
            detected_at=now or datetime.now(STOCKHOLM),
            summary=f"Open item {voucher} on {item.account} ({item.company}): {format_amount(item.open_ore)} SEK open "
                    f"for {age} working days",
            evidence={
                "account": item.account, "voucher_series": item.voucher_series,
                "voucher_number": item.voucher_number, "opened_on": item.opened_on.isoformat(),
                "amount_ore": item.amount_ore, "open_ore": item.open_ore, "reasons": reasons,
                "age_working_days_at_detection": age, "max_working_days": max_days,
                "max_open_ore": max_open,
            },
            source_event_ids=list(item.event_ids),
        ))
    return out


def breached_on(opened_on: date, max_working_days: int) -> date:
    """The first day an item opened on `opened_on` is older than `max_working_days` working days."""
    day = opened_on
    while working_days_between(opened_on, day) <= max_working_days:
        day += timedelta(days=1)
    return day


def aged_alerts(findings: Sequence[Finding], raised: set[str], rule: Rule = SUSPENSE_AGED, *,
                at: datetime) -> list[Alert]:
    """Team-chat alerts for aged items: raised once when an item first breaks a limit, resolved once when it is
    cleared. `raised`: alert keys raised and not yet resolved (read back from the alerts table).

    Every field is event time, never the wall clock (the alerts table keys on `occurred_at`, so a wall-clock
    time would store a re-derived alert again): a raise occurs on the day the item broke its limit (the age
    deadline, or the day it opened when only the amount is over), its age measured on that day; a resolve at `at`,
    the end of the reviewed window (the day after the newest posting date)."""
    current = {f"{rule.rule_id}:{f.subject_id}": f for f in findings if f.rule_id == rule.rule_id}
    out = []
    # These alert ids include the rule id and version (unlike the contact alerts): kept so ids do not move.
    for key in sorted(set(current) - raised):
        f = current[key]
        doc = orjson_loads(f.evidence_json)
        opened = date.fromisoformat(doc["opened_on"])
        max_days = int(doc["max_working_days"])
        day = breached_on(opened, max_days) if "age" in doc["reasons"] else opened
        voucher = f"{doc['voucher_series']} {doc['voucher_number']}".strip()
        # The finding's evidence holds the age on the day it was detected; the alert keeps only what does not
        # depend on that day, so whoever raises it builds the same alert.
        details = {k: v for k, v in doc.items() if k != "age_working_days_at_detection"} | {
            "breached_on": day.isoformat()}
        out.append(build_alert(
            rule, key, AlertState.raised, id_parts=(rule.rule_id, rule.version, key), severity=f.severity,
            title=f"Open item {voucher} on {doc['account']} ({f.company}): {format_amount(int(doc['open_ore']))} SEK "
                  f"open, over the limit since {day.isoformat()} ({' and '.join(doc['reasons'])})",
            measured_value=float(working_days_between(opened, day)),
            target=float(rule["max_working_days"]), unit="working_days",
            occurred_at=datetime.combine(day, time(0), STOCKHOLM), details=details,
        ))
    for key in sorted(raised - set(current)):
        out.append(build_alert(
            rule, key, AlertState.resolved, id_parts=(rule.rule_id, rule.version, key),
            title=f"Open item {key.split(':', 2)[-1]} cleared or back within the limits", occurred_at=at,
            details={"alert_key": key},
        ))
    return out


@dataclass(frozen=True)
class YearCount:
    company: str
    account: str
    year: int
    postings: int
    previous: int | None
    change: float | None  # (postings - previous) / previous
    on_target: bool | None  # change <= goal


def year_over_year(postings: Iterable[InvoicePosting], account: str = "9894",
                   goal: float = -0.03) -> list[YearCount]:
    """Vouchers opening items on `account` per company and year, against the previous year and the goal."""
    vouchers: dict[tuple[str, int], set[tuple[str, str]]] = defaultdict(set)
    for p in postings:
        if p.account == account and p.amount_ore < 0:
            vouchers[(p.company, p.posting_date.year)].add(_voucher(p))
    out = []
    for (company, year), found in sorted(vouchers.items()):
        prev = vouchers.get((company, year - 1))
        previous = len(prev) if prev else None
        change = None if not previous else (len(found) - previous) / previous
        out.append(YearCount(company, account, year, len(found), previous, change,
                             None if change is None else change <= goal))
    return out
