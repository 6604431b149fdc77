"""Faust wiring of the finance controls."""

from __future__ import annotations

import faust

from servicepulse.config import Settings
from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.events import Finding, InvoicePosting

from ..emit import decode_or_none, send_all
from .controls import SuspensePostingRule, suspense_posting

__all__ = ["register"]


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    source = app.topic(topics.invoice_postings, key_type=bytes, value_type=bytes)
    findings = app.topic(topics.findings, key_type=bytes, value_type=bytes)
    rule = SuspensePostingRule()

    async def flag_suspense_postings(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.sink.batch_max, settings.sink.batch_within_s):
            out: list[Finding] = []
            for event in events:
                posting = decode_or_none(codec, event.message.value, InvoicePosting)
                if isinstance(posting, InvoicePosting):
                    finding = suspense_posting(posting, rule)
                    if finding is not None:
                        out.append(finding)
            await send_all(findings, codec, out)

    app.agent(source, name="finance-suspense-postings")(flag_suspense_postings)
