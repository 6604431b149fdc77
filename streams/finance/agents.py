"""Faust wiring of the finance per-event agents: a posting on a suspense account is a finding on its own.

The window rules (payments, Benford, aged suspense items) run in the finance review
(`streams/readback/finance_review.py`), which reads the stored postings back from ClickHouse.
"""

from __future__ import annotations

from collections.abc import Iterable

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import Event, InvoicePosting

from ..emit import register_rule_agent
from .rules import SUSPENSE_POSTING, suspense_posting

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    rule = SUSPENSE_POSTING

    def step(posting: Event) -> Iterable[Event]:
        assert isinstance(posting, InvoicePosting)
        finding = suspense_posting(posting, rule)
        return [finding] if finding is not None else []

    register_rule_agent(app, settings, codec, name="finance-suspense-postings", source=topics.invoice_postings,
                        output=topics.findings, model=InvoicePosting, step=step)
