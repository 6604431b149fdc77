"""The finance review timer: on the leader, every minute, read the window of postings and the open suspense
items back from ClickHouse, run the pure review, and send new findings and the aged-suspense alerts."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
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
from ..finance.review import FinanceControls, review
from ..finance.suspense import OpenItem, aged_alerts
from .queries import query, rows

__all__ = ["load_window", "newest_posting_date", "raised_alert_keys", "register"]

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


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    conf = settings.readback
    controls = FinanceControls.from_settings(settings.finance, settings.parameters())
    findings_topic = app.topic(topics.findings, key_type=bytes, value_type=bytes)
    alerts_topic = app.topic(topics.alerts, key_type=bytes, value_type=bytes)
    clients = ThreadClients(settings.clickhouse)
    # What was sent, by id and evidence: a finding is sent again only when its evidence changed (a split
    # invoice gaining a third invoice, a Benford population growing). After a restart, or when leadership
    # moves to another worker, every finding is sent once more with the same id, which the findings table
    # collapses.
    sent: set[str] = set()

    def run_review() -> tuple[list[Finding], list[Alert]]:
        client = clients.get()
        postings, first_seen, items = load_window(client, conf.finance_lookback_days,
                                                  controls.invoice_horizon_days)
        if not postings and not items:
            return [], []
        # Items age in working days up to today, as in the view `v_suspense_open_items` (an item nobody
        # clears keeps ageing even when no posting arrives). Every field stored is event time, though: the
        # findings are stamped with the end of the newest posting day, an aged alert with the day the item
        # broke its limit, so a review re-run (a restart, a new leader) builds the same records.
        end = datetime.combine(newest_posting_date(client) + timedelta(days=1), time(0), STOCKHOLM)
        found = review(postings, first_seen, items, controls, datetime.now(STOCKHOLM).date(), end)
        # Raised and not yet resolved, read back from the alerts table so a restart neither repeats nor
        # forgets a raise (an alert sent but not yet stored is sent again with the same id).
        raised = raised_alert_keys(client, controls.aged.rule_id)
        return found, aged_alerts(found, raised, controls.aged, at=end)

    async def finance_review() -> None:
        try:
            found, alerts = await asyncio.to_thread(run_review)
        except Exception as exc:  # the store may be starting or the tables not yet migrated
            log.warning("finance review skipped", error=str(exc))
            return
        new = []
        for finding in found:
            mark = hashlib.sha256(f"{finding.finding_id}|{finding.evidence_json}".encode()).hexdigest()
            if mark not in sent:
                new.append((mark, finding))
        fresh = [a for a in alerts if a.alert_id not in sent]
        try:
            if new:
                await send_all(findings_topic, codec, [f for _, f in new])
                sent.update(mark for mark, _ in new)
                log.info("finance review sent findings", new=len(new), total=len(found))
            if fresh:
                await send_all(alerts_topic, codec, fresh)
                sent.update(a.alert_id for a in fresh)
        except Exception as exc:  # Kafka not answering: what was not marked sent is sent on the next review
            log.warning("finance review send failed", error=repr(exc))

    # The review reads the whole window: one runner is enough, and every worker running it would send every
    # finding once per worker.
    app.timer(conf.finance_interval_s, on_leader=True, name="finance-review")(finance_review)
