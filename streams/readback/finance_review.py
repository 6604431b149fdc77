"""The finance review timer: on the leader, every minute, read back from ClickHouse what the window's findings
depend on, run the pure review, and send new findings and the aged-suspense alerts.

Incremental: a pass reads only the postings stored since the previous one (a cursor over the sink's
watermarks: topic, partition, offset), and re-runs each rule over the keys those postings touch (a payment's
reference, a supplier, an amount, an approver's day), which is exactly what those keys' findings depend on.
The postings of those keys are found by primary key in `finance_posting_keys` (migration 0700) and read by
theirs, never through the whole window; `ap.benford` is counted in ClickHouse; the suspense open items are
read again only when a new posting is on a suspense account. Findings of untouched keys are unchanged and were
sent before. When the window itself moves (a new newest posting date, a new day for the suspense ageing), on
the first pass of a leader, or when a stored posting was replaced by a new version, the pass starts from
scratch, with each rule's input filtered in SQL first (finance_filtered_postings.sql)."""

from __future__ import annotations

import asyncio
import gc
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import ThreadClients
from servicepulse.connectors.serde import WireCodec
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, Finding, InvoicePosting, PostingKind

from ..emit import send_all
from ..finance.payments import (
    duplicate_payments,
    likely_unidentified,
    new_supplier_four_eyes,
    refund_limit,
    split_invoices,
)
from ..finance.review import BenfordCounts, FinanceControls, benford_from_counts, review
from ..finance.suspense import OpenItem, aged_alerts, aged_findings
from .queries import query, rows

__all__ = [
    "FinanceReviewer", "fill_posting_keys", "load_window", "newest_posting_date", "raised_alert_keys", "register",
]

log = structlog.get_logger(__name__)

_FIELDS = frozenset(InvoicePosting.model_fields)


def load_window(client: Client, lookback_days: int, invoice_horizon_days: int) -> tuple[
        list[InvoicePosting], dict[tuple[str, str], date], list[OpenItem]]:
    """Postings of the window (event time: counted back from the newest posting date), suppliers' first
    dates, and the open items of the suspense accounts."""
    newest = rows(client, "finance_newest_posting")[0][0]
    if not newest or str(newest).startswith("1970"):
        return [], {}, []
    result = query(client, "finance_window_postings", newest=newest, lookback=lookback_days,
                   horizon=lookback_days + invoice_horizon_days)
    names = tuple(result.column_names)
    if set(names) != _FIELDS:  # the SQL file lists the columns: a model field added later must be added there
        raise RuntimeError(f"finance_window_postings.sql selects {sorted(names)}, InvoicePosting has "
                           f"{sorted(_FIELDS)}")
    postings = [_posting(names, row) for row in result.result_rows]
    first_seen = {(str(company), str(supplier)): day
                  for company, supplier, day in rows(client, "finance_first_seen")}
    items = [
        OpenItem(str(c), str(a), str(s), str(n), opened, int(original), int(open_ore), tuple(events))
        for c, a, s, n, opened, original, open_ore, events in rows(client, "finance_open_items")
    ]
    return postings, first_seen, items


def newest_posting_date(client: Client) -> date:
    """The newest posting date stored: the event-time "today" of the review."""
    newest = rows(client, "finance_newest_posting")[0][0]
    return newest if isinstance(newest, date) else date.fromisoformat(str(newest)[:10])


def raised_alert_keys(client: Client, rule_id: str) -> set[str]:
    """Keys of the rule's alerts raised and not yet resolved, as stored."""
    return {str(key) for (key,) in rows(client, "alerts_still_raised", rule_id=rule_id)}


def _posting(names: Sequence[str], row: Sequence[Any]) -> InvoicePosting:
    doc = dict(zip(names, row, strict=True))
    doc["kind"] = PostingKind(doc["kind"])
    # Rows come from the table the sink wrote after validating them: no second validation.
    return InvoicePosting.model_construct(**doc)


def load_open_items(client: Client) -> list[OpenItem]:
    return [
        OpenItem(str(c), str(a), str(s), str(n), opened, int(original), int(open_ore), tuple(events))
        for c, a, s, n, opened, original, open_ore, events in rows(client, "finance_open_items")
    ]


def benford_counts(client: Client, newest: date, lookback_days: int, min_amount_ore: int, min_count: int,
                   companies: Sequence[str] = ()) -> list[BenfordCounts]:
    """`ap.benford`'s populations of these companies (all when empty), counted in ClickHouse; the suppliers with
    fewer than `min_count` invoices folded into their company's row without a supplier (judged only there)."""
    return [BenfordCounts(str(c), None if s is None else str(s), int(n), tuple(int(x) for x in digits), first, last)
            for c, s, n, *digits, first, last in rows(client, "finance_benford_counts", newest=newest,
                                                       lookback=lookback_days, min_amount=min_amount_ore,
                                                       min_count=min_count, companies=list(companies))]


@dataclass
class _Touched:
    """The keys that new postings touch, per rule."""

    refs: set[tuple[str, str]] = field(default_factory=set)
    amounts: set[tuple[str, int]] = field(default_factory=set)
    days: set[tuple[str, date, str]] = field(default_factory=set)
    suppliers: set[tuple[str, str]] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    companies: set[str] = field(default_factory=set)
    own: set[tuple[str, str, date, str]] = field(default_factory=set)  # the new postings' sorting keys


class FinanceReviewer:
    """One review pass at a time (blocking: run it in a thread); remembers what it sent and where it stopped.

    `pass_once` returns the findings and alerts not sent before; `mark_sent` records them once sent, so a
    failed send is retried by the next pass. The cursor moves only with `mark_sent` too. With
    `incremental=False` every pass reads the whole window (the path before the cursor; kept for comparison).
    """

    def __init__(self, settings: Settings, client: Callable[[], Client], *, incremental: bool = True) -> None:
        self._conf = settings.readback
        self._controls = FinanceControls.from_settings(settings.finance, settings.parameters())
        self._client = client
        self._incremental = incremental
        # What was sent, by id and evidence: a finding is sent again only when its evidence changed (a split
        # invoice gaining a third invoice, a Benford population growing). After a restart, or when leadership
        # moves to another worker, every finding is sent once more with the same id, which the findings
        # table collapses.
        self.sent: set[str] = set()
        self._cursor: dict[str, tuple[int, int]] | None = None  # 'topic:partition' -> (max offset, rows)
        self._window: tuple[date, date] | None = None  # (newest posting date, today) of the last pass
        self._pending: tuple[dict[str, tuple[int, int]], tuple[date, date]] | None = None
        self.last_pass = ""  # what the last pass did: "full", "keyed", "none" (nothing new), "" (empty store)
        # The open items of the suspense accounts as last read, and the accounts then followed: the view that
        # computes them reads every suspense posting (most of a pass's time otherwise); they change only with a
        # posting on a suspense account or with the set of accounts (their age is counted here, to `today`).
        self._items: tuple[tuple[str, ...], list[OpenItem]] | None = None
        self._keys_filled = False  # finance_posting_keys holds the postings stored before its view too
        self._touched_accounts: set[str] = set()  # accounts of the postings the keyed pass reads for

    def pass_once(self) -> tuple[list[Finding], list[Alert]]:
        client = self._client()
        controls = self._controls
        newest_raw = rows(client, "finance_newest_posting")[0][0]
        high = {str(k): (int(o), int(n)) for k, o, n in rows(client, "finance_high_water")}
        self._pending = None
        self.last_pass = ""
        if not newest_raw or str(newest_raw).startswith("1970"):
            return [], []
        newest = newest_raw if isinstance(newest_raw, date) else date.fromisoformat(str(newest_raw)[:10])
        today = datetime.now(STOCKHOLM).date()
        # Items age in working days up to today, as in the view `v_suspense_open_items` (an item nobody
        # clears keeps ageing even when no posting arrives). Every field stored is event time, though: the
        # findings are stamped with the end of the newest posting day, an aged alert with the day the item
        # broke its limit, so a review re-run (a restart, a new leader) builds the same records.
        end = datetime.combine(newest + timedelta(days=1), time(0), STOCKHOLM)
        window = (newest, today)
        if not self._incremental or self._cursor is None or self._window != window:
            found = self._full(client, newest, today, end)
            self.last_pass = "full"
        elif high == self._cursor:
            found = []  # nothing stored since: every finding of this window was sent
            self.last_pass = "none"
        else:
            touched = self._touched(client, self._cursor, high)
            found = self._keyed(client, touched, newest, today, end) if touched is not None else \
                self._full(client, newest, today, end)
            self.last_pass = "keyed" if touched is not None else "full"
        self._pending = (high, window)
        # Raised and not yet resolved, read back from the alerts table so a restart neither repeats nor
        # forgets a raise (an alert sent but not yet stored is sent again with the same id).
        raised = raised_alert_keys(client, controls.aged.rule_id)
        alerts = aged_alerts(found, raised, controls.aged, at=end)
        return [f for f in found if _mark(f) not in self.sent], [a for a in alerts if a.alert_id not in self.sent]

    def mark_sent(self, findings: Sequence[Finding], alerts: Sequence[Alert]) -> None:
        self.sent.update(_mark(f) for f in findings)
        self.sent.update(a.alert_id for a in alerts)
        if self._pending is not None:
            self._cursor, self._window = self._pending
            self._pending = None

    def _full(self, client: Client, newest: date, today: date, end: datetime) -> list[Finding]:
        if not self._incremental:  # the path before the cursor: the whole window into Python
            postings, first_seen, items = load_window(client, self._conf.finance_lookback_days,
                                                      self._controls.invoice_horizon_days)
            if not postings and not items:
                return []
            return review(postings, first_seen, items, self._controls, today, end)
        # From scratch, filtered in ClickHouse: only the postings some rule can use cross into Python.
        if not self._keys_filled:
            self._keys_filled = fill_posting_keys(client)
        c, lookback = self._controls, self._conf.finance_lookback_days
        horizon = lookback + c.invoice_horizon_days
        first_invoice, history_from, _ = self._history_from(client, newest, horizon)
        result = query(client, "finance_filtered_postings", newest=newest, lookback=lookback, horizon=horizon,
                       first_invoice=first_invoice, history_from=history_from,
                       bank_sources=list(c.likely_unidentified["bank_sources"]),
                       length_digit=bool(c.likely_unidentified["ocr_length_digit"]),
                       invoice_horizon=c.invoice_horizon_days,
                       approval_limit=int(c.split_invoice["approval_limit_ore"]),
                       new_days=int(c.new_supplier_four_eyes["new_supplier_days"]))
        by_rule = _by_rule(result)
        self._items = None
        suppliers = sorted({(p.company, p.counterparty_id) for p in by_rule["sup"] if p.counterparty_id})
        return self._rules(client, by_rule, suppliers, newest, today, end, ())

    @staticmethod
    def _history_from(client: Client, newest: date,
                      horizon: int) -> tuple[str, date, tuple[str, str, date, str] | None]:
        """The window's oldest customer invoice: event id, date and sorting key (None when the window has none)."""
        event_id, day, company, account = rows(client, "finance_history_from", newest=newest, horizon=horizon)[0]
        if not event_id:
            return "", date(1970, 1, 1), None
        return str(event_id), day, (str(company), str(account), day, str(event_id))

    def _rules(self, client: Client, by_rule: dict[str, list[InvoicePosting]], suppliers: Sequence[tuple[str, str]],
               newest: date, today: date, end: datetime, companies: Sequence[str] | None) -> list[Finding]:
        """Every rule over the postings read for it; Benford counted in ClickHouse for `companies` (() = all,
        None = none)."""
        c = self._controls
        first_seen = {(str(company), str(supplier)): day for company, supplier, day in
                      rows(client, "finance_first_seen_of", suppliers=list(suppliers))} if suppliers else {}
        benford = benford_counts(client, newest, self._conf.finance_lookback_days, int(c.benford["min_amount_ore"]),
                                 int(c.benford["min_count"]), companies) if companies is not None else []
        return [
            *likely_unidentified(by_rule["lu"], c.likely_unidentified, end),
            *duplicate_payments(by_rule["dup"], c.duplicate_payment, end),
            *split_invoices(by_rule["spl"], c.split_invoice, end),
            *new_supplier_four_eyes(by_rule["sup"], first_seen, c.new_supplier_four_eyes, end),
            *refund_limit(by_rule["ref"], c.refund_limit, end),
            *benford_from_counts(benford, c.benford, end),
            *aged_findings(self._open_items(client), c.aged, today, end),
        ]

    def _open_items(self, client: Client) -> list[OpenItem]:
        accounts = tuple(str(a) for (a,) in rows(client, "finance_suspense_accounts"))
        if self._items is None or self._items[0] != accounts or self._touched_accounts & set(accounts):
            self._items = (accounts, load_open_items(client))
        return self._items[1]

    def _touched(self, client: Client, cursor: dict[str, tuple[int, int]],
                 high: dict[str, tuple[int, int]]) -> _Touched | None:
        """The keys the postings stored since `cursor` touch, or None when only a pass from scratch is exact
        (a partition's rows grew without its offset: rows written outside the sink; a posting stored again)."""
        for key, (offset, count) in high.items():
            before = cursor.get(key)
            if before is not None and (offset < before[0] or (offset == before[0]) != (count == before[1])):
                return None
        if set(cursor) - set(high):
            return None
        least = min((o + 1 for o, _ in cursor.values()), default=0) if set(high) <= set(cursor) else 0
        new = rows(client, "finance_new_postings", least=least, next_keys=list(cursor),
                   next_offsets=[o + 1 for o, _ in cursor.values()], upto_keys=list(high),
                   upto_offsets=[o for o, _ in high.values()])
        keys = sorted({(str(r[2]), str(r[3]), r[4], str(r[0])) for r in new})
        if keys and int(rows(client, "finance_stored_versions", keys=keys)[0][0]) != len(keys):
            return None
        t = _Touched()
        self._touched_accounts = {str(r[3]) for r in new}
        for event_id, kind, company, account, day, amount, supplier, ref, doc_day, approver in new:
            company = str(company)
            t.ids.add(str(event_id))
            t.own.add((company, str(account), day, str(event_id)))
            if kind in ("customer_invoice", "incoming_payment"):
                t.refs.add((company, str(ref)))
            if kind == "outgoing_payment":
                t.amounts.add((company, int(amount)))
            if kind == "supplier_invoice":
                t.days.add((company, doc_day, str(approver)))
                t.companies.add(company)
            if kind in ("supplier_invoice", "outgoing_payment"):
                t.suppliers.add((company, str(supplier or "")))
        return t

    def _keyed(self, client: Client, t: _Touched, newest: date, today: date, end: datetime) -> list[Finding]:
        """The findings of the touched keys: each rule over exactly the postings its touched keys depend on."""
        c, lookback = self._controls, self._conf.finance_lookback_days
        horizon = lookback + c.invoice_horizon_days
        first_invoice, history_from, oldest = self._history_from(client, newest, horizon)
        # The candidates by key (finance_posting_keys, migration 0700), the flags computed on the FINAL rows.
        keys = sorted({("ref", co, ref) for co, ref in t.refs} | {("amount", co, str(a)) for co, a in t.amounts}
                      | {("day", co, f"{d.isoformat()}|{ap}") for co, d, ap in t.days}
                      | {("supplier", co, s) for co, s in t.suppliers})
        own = sorted(t.own | ({oldest} if oldest is not None else set()))
        result = query(client, "finance_keyed_postings", newest=newest, lookback=lookback, horizon=horizon,
                       refs=sorted(t.refs), amounts=sorted(t.amounts), days=sorted(t.days),
                       suppliers=sorted(t.suppliers), ids=sorted(t.ids), first_invoice=first_invoice,
                       history_from=history_from, rule_keys=keys, own=own)
        suppliers = sorted(s for s in t.suppliers if s[1])
        return self._rules(client, _by_rule(result), suppliers, newest, today, end,
                           sorted(t.companies) if t.companies else None)


def fill_posting_keys(client: Client) -> bool:
    """Fill finance_posting_keys from the postings stored before its view existed, once per store (a leader
    doing it again meanwhile only writes keys that collapse). Returns True once filled."""
    if int(rows(client, "finance_keys_filled")[0][0]) == 0:
        query(client, "finance_keys_backfill")
        client.insert("finance_posting_keys_backfill", [[datetime.now(UTC)]], column_names=["done_at"])
        log.info("finance review key index filled from the stored postings")
    return True


def _by_rule(result: Any) -> dict[str, list[InvoicePosting]]:
    """The rows of a flagged query (the posting's columns, then the flags lu, dup, spl, sup, ref) per rule."""
    names = tuple(result.column_names)[:-5]
    by_rule: dict[str, list[InvoicePosting]] = {"lu": [], "dup": [], "spl": [], "sup": [], "ref": []}
    # A first pass builds a few hundred thousand postings: with the cyclic GC on, most of that time goes to GC
    # passes over objects that cannot form cycles (as payroll_checks._lines), so it pauses here.
    enabled = gc.isenabled()
    gc.disable()
    try:
        for row in result.result_rows:
            posting = _posting(names, row[:-5])
            for flag, rule in zip(row[-5:], ("lu", "dup", "spl", "sup", "ref"), strict=True):
                if flag:
                    by_rule[rule].append(posting)
    finally:
        if enabled:
            gc.enable()
    return by_rule


def _mark(finding: Finding) -> str:
    return hashlib.sha256(f"{finding.finding_id}|{finding.evidence_json}".encode()).hexdigest()


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    findings_topic = app.topic(topics.findings, key_type=bytes, value_type=bytes)
    alerts_topic = app.topic(topics.alerts, key_type=bytes, value_type=bytes)
    clients = ThreadClients(settings.clickhouse)
    reviewer = FinanceReviewer(settings, clients.get)

    async def finance_review() -> None:
        try:
            found, alerts = await asyncio.to_thread(reviewer.pass_once)
        except Exception as exc:  # the store may be starting or the tables not yet migrated
            log.warning("finance review skipped", error=str(exc))
            return
        try:
            if found:
                await send_all(findings_topic, codec, found)
                log.info("finance review sent findings", new=len(found))
            if alerts:
                await send_all(alerts_topic, codec, alerts)
        except Exception as exc:  # Kafka not answering: what was not marked sent is sent on the next review
            log.warning("finance review send failed", error=repr(exc))
            return
        reviewer.mark_sent(found, alerts)

    # The review reads the whole window: one runner is enough, and every worker running it would send every
    # finding once per worker.
    app.timer(settings.readback.finance_interval_s, on_leader=True, name="finance-review")(finance_review)
