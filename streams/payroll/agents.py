"""Faust wiring of the payroll controls: when a run's closed header arrives, check the whole run once stored.

The per-run rules compare across the whole run (shared bank accounts, duplicates, the previous run), so
they run over the run as stored in ClickHouse, which is exact, rather than over per-event state that a
redelivery would skew. A redelivered header checks the run again and re-emits the same finding ids.
"""

from __future__ import annotations

import asyncio
import os

import faust
import structlog
from clickhouse_connect.driver.client import Client

from servicepulse.config import Settings
from servicepulse.connectors.clickhouse import ThreadClients
from servicepulse.connectors.serde import DecodeError, WireCodec
from servicepulse.schemas.events import PayrollRun, PayrollRunStatus

from ..emit import send_all
from .store import RunCheck, check_run, stored_line_count

__all__ = ["register"]

log = structlog.get_logger(__name__)

EXIT_CHECK_FAILED = 70
WAIT_FOR_LINES_S = 600.0


class _Checker:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients = ThreadClients(settings.clickhouse)

    def _client(self) -> Client:
        return self._clients.get()

    def stored(self, run: PayrollRun) -> int:
        return stored_line_count(self._client(), run)

    def check(self, run: PayrollRun) -> RunCheck:
        return check_run(self._client(), run, wait_s=0,
                         salt=self._settings.payroll.key())

    async def wait_for_lines(self, run: PayrollRun) -> None:
        """Until the run's lines are all stored (or the wait ends); sleeps in the event loop, so a stopping
        worker cancels it instead of waiting on a blocked thread."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_LINES_S
        while run.line_count is not None and loop.time() < deadline:
            if await asyncio.to_thread(self.stored, run) >= run.line_count:
                return
            await asyncio.sleep(0.5)


def register(app: faust.App, settings: Settings, codec: WireCodec) -> None:
    topics = settings.kafka.topics
    source = app.topic(topics.payroll_runs, key_type=bytes, value_type=bytes)
    output = app.topic(topics.findings, key_type=bytes, value_type=bytes)
    checker = _Checker(settings)

    async def run(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.sink.batch_max, settings.sink.batch_within_s):
            for event in events:
                try:
                    header = codec.decode(event.message.value, PayrollRun)
                except DecodeError:
                    continue  # the sink dead-letters it
                if header.status is not PayrollRunStatus.closed:
                    continue
                try:
                    await checker.wait_for_lines(header)
                    result = await asyncio.to_thread(checker.check, header)
                    await send_all(output, codec, result.findings)
                except Exception as exc:
                    # take_events acks in a `finally`: leave before the ack so the header is redelivered.
                    log.critical("payroll run check failed; worker stops so the run is checked again",
                                 run_id=header.run_id, error=type(exc).__name__)
                    os._exit(EXIT_CHECK_FAILED)
                log.info("payroll run checked", run_id=result.run_id, line_count=result.line_count,
                         lines_seen=result.lines_seen, findings=len(result.findings),
                         samples=len(result.samples), seconds=round(result.seconds, 2))
                if result.lines_seen < result.line_count:
                    log.warning("payroll run checked before all its lines were stored", run_id=result.run_id,
                                line_count=result.line_count, lines_seen=result.lines_seen)

    app.agent(source, name="payroll-controls")(run)
