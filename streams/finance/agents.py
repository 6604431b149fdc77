"""Faust wiring of the finance controls: per-event suspense postings, and a periodic review of the window
(findings, and team-chat alerts raised/resolved for aged 9894 items)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import faust
import structlog

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import ThreadClients
from servicepulse.connectors.serde import WireCodec
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, Event, Finding, InvoicePosting, PostingKind

from ..emit import register_rule_agent, send_all
from .review import FinanceControls, review
from .rules import SUSPENSE_POSTING, suspense_posting
from .suspense import OpenItem, aged_alerts

__all__ = ["load_window", "register"]

log = structlog.get_logger(__name__)

_FIELDS = tuple(InvoicePosting.model_fields)


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    rule = SUSPENSE_POSTING

    def step(posting: Event) -> Iterable[Event]:
        assert isinstance(posting, InvoicePosting)
        finding = suspense_posting(posting, rule)
        return [finding] if finding is not None else []

    register_rule_agent(app, settings, codec, name="finance-suspense-postings", source=topics.invoice_postings,
                        output=topics.findings, model=InvoicePosting, step=step)

    controls = FinanceControls.from_settings(settings.finance, settings.parameters())
    findings_topic = app.topic(topics.findings, key_type=bytes, value_type=bytes)
    alerts_topic = app.topic(topics.alerts, key_type=bytes, value_type=bytes)
    clients = ThreadClients(settings.clickhouse)
    # What was sent, by id and evidence: a finding is sent again only when its evidence changed (a split
    # invoice gaining a third invoice, a Benford population growing). After a restart every finding is sent
    # once more with the same id, which the findings table collapses.
    sent: set[str] = set()

    def run_review() -> tuple[list[Finding], list[Alert]]:
        client = clients.get()
        postings, first_seen, items = load_window(client, controls)
        found = review(postings, first_seen, items, controls, datetime.now(STOCKHOLM).date()) \
            if postings or items else []
        # Raised and not yet resolved, read back from the alerts table so a restart neither repeats nor
        # forgets a raise (an alert sent but not yet stored is sent again with the same id).
        raised = {str(key) for (key,) in client.query(
            f"SELECT alert_key FROM alerts FINAL WHERE rule_id = '{controls.aged.rule_id}' GROUP BY alert_key "
            "HAVING countIf(state = 'resolved') = 0").result_rows}
        return found, aged_alerts(found, raised, controls.aged)

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
        if new:
            await send_all(findings_topic, codec, [f for _, f in new])
            sent.update(mark for mark, _ in new)
            log.info("finance review sent findings", new=len(new), total=len(found))
        fresh = [a for a in alerts if a.alert_id not in sent]
        if fresh:
            await send_all(alerts_topic, codec, fresh)
            sent.update(a.alert_id for a in fresh)

    app.timer(controls.interval_s, name="finance-review")(finance_review)


def load_window(client: Any, controls: FinanceControls) -> tuple[
        list[InvoicePosting], dict[tuple[str, str], date], list[OpenItem]]:
    """Postings of the window (event time: counted back from the newest posting date), suppliers' first
    dates, and the open items of the suspense accounts."""
    newest = client.command("SELECT max(posting_date) FROM invoice_postings")
    if not newest or str(newest).startswith("1970"):
        return [], {}, []
    lookback = int(controls.lookback_days)
    horizon = lookback + int(controls.invoice_horizon_days)
    sql = (
        f"SELECT {', '.join(_FIELDS)} FROM invoice_postings FINAL "
        "WHERE kind IN ('supplier_invoice', 'incoming_payment', 'outgoing_payment') "
        f"AND posting_date >= toDate('{newest}') - {lookback} "
        "UNION ALL "
        f"SELECT {', '.join(_FIELDS)} FROM invoice_postings FINAL "
        f"WHERE kind = 'customer_invoice' AND posting_date >= toDate('{newest}') - {horizon}"
    )
    postings = [_posting(row) for row in client.query(sql).result_rows]
    first_seen = {
        (str(company), str(supplier)): day
        for company, supplier, day in client.query(
            "SELECT company, counterparty_id, min(posting_date) FROM invoice_postings "
            "WHERE kind IN ('supplier_invoice', 'outgoing_payment') AND counterparty_id IS NOT NULL "
            "GROUP BY company, counterparty_id"
        ).result_rows
    }
    items = [
        OpenItem(str(c), str(a), str(s), str(n), opened, int(original), int(open_ore), tuple(events))
        for c, a, s, n, opened, original, open_ore, events in client.query(
            "SELECT company, account, voucher_series, voucher_number, opened_on, original_ore, amount_ore, "
            "event_ids FROM v_suspense_open_items"
        ).result_rows
    ]
    return postings, first_seen, items


def _posting(row: tuple[Any, ...]) -> InvoicePosting:
    doc = dict(zip(_FIELDS, row, strict=True))
    doc["kind"] = PostingKind(doc["kind"])
    # Rows come from the table the sink wrote after validating them: no second validation.
    return InvoicePosting.model_construct(**doc)
