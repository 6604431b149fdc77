"""The read-back loop: the steps that read ClickHouse back and emit findings or alerts.

Everything else in `streams/` flows one way: an agent decodes an event, applies a pure rule to that event
alone, and sends what it returns; the sink writes every topic into ClickHouse. Some decisions need more
than one event: a rolling hour of calls, a deadline that passes with nothing arriving, a whole payroll run,
45 days of postings. Keeping those counts in worker memory would make them wrong under replay: a killed
worker or a redelivered batch (at-least-once, pending offsets dropped on a rebalance) would count some
events twice or forget others. So these steps read back what the sink stored, where every event is
exactly once (replay guard, ReplacingMergeTree + FINAL), and decide from those exact facts; their outputs
carry deterministic ids, so sending one again collapses in the findings and alerts tables.

The steps that read back, one module each:
- `sla_monitor`: a timer on the leader (`READBACK__SLA_TICK_S`, 3 s) reading service-level counts, e-mails,
  cases and complaint stories, deciding on event-time clocks; `contact.*` and `complaints.*` alerts.
- `finance_review`: a timer on the leader (`READBACK__FINANCE_INTERVAL_S`, 60 s) reading the window of
  postings and the open suspense items; `ap.*`, `ar.*`, `gl.*` findings and the aged-suspense alerts.
- `payroll_checks`: an agent on the payroll run headers; a closed header waits for the run's lines to be
  stored, then the whole run is read back and checked; `payroll.*` findings, samples. Also the rerun of
  chosen rules over stored runs (`servicepulse controls rerun`).
- `dead_letter_alerts`: a timer on the leader (`READBACK__DEAD_LETTER_TICK_S`, 5 s) reading the first dead
  letter of every source and hour; one `ops.dead_letters` alert each, whichever worker stored the letters.
- `alert_delivery`: the alert outbox, a timer on the leader (`ALERTS__DELIVERY_TICK_S`, 1 s) posting the stored
  alerts not yet delivered to team chat, recording each outcome in `alert_deliveries`.
- `consumer_lag`: a timer on the leader (`READBACK__LAG_TICK_S`, 15 s) sampling the consumer group's lag from
  the broker into `consumer_lag` for the pipeline-health dashboard (it reads Kafka, not the store).
- `payroll_people`: the master-data load reads the stored bank-account hash back to date a change.

Each query is a file in `sql/`, run by `queries` with server-side bound parameters (`{name:Type}`).
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

import faust
import structlog
from faust.types import TP

from servicepulse.config import Settings
from servicepulse.connectors.kafka import leader_topic
from servicepulse.connectors.serde import WireCodec

__all__ = ["register"]

log = structlog.get_logger(__name__)


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    """Wire the read-back timers (SLA monitor, finance review, dead-letter alerts, alert delivery) and the payroll
    run check agent."""
    from . import alert_delivery, consumer_lag, dead_letter_alerts, finance_review, payroll_checks, sla_monitor

    sla_monitor.register(app, settings, codec)
    finance_review.register(app, settings, codec)
    payroll_checks.register(app, settings, codec)
    dead_letter_alerts.register(app, settings, codec)
    alert_delivery.register(app, settings, codec)
    consumer_lag.register(app, settings, codec)

    # The leader-only timers run where the leader topic's one partition is assigned; say where after each
    # rebalance, so an operator (and the tests) can see that exactly one worker runs them.
    leader_tp = TP(leader_topic(settings.kafka), 0)

    async def log_leadership(_sender: Any, /, *args: Any, signal: Any, **_: Any) -> None:
        assigned: Set[TP] = args[0]  # the signal is sent with the new assignment
        log.info("read-back timers", leader=leader_tp in assigned)

    app.on_partitions_assigned.connect(log_leadership)
