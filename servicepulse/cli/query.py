"""`sql` (a query, printed for people or machines) and `status` (topics, both consumer groups' progress, tables)."""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import typer
from pydantic import SecretStr
from rich.table import Table

from servicepulse.config import ClickHouseSettings

from .common import fail, settings_and_logging

if TYPE_CHECKING:  # confluent-kafka loads only for the commands that talk to Kafka
    from servicepulse.connectors.kafka import GroupProgress

__all__ = ["as_user", "progress_rows", "register"]


class OutputFormat(StrEnum):
    table = "table"
    tsv = "tsv"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(help='Run a query: servicepulse sql "SELECT count() FROM call_events".')(sql)
    app.command(help="Topics, consumer progress (the workers' group and the sink's: what is not yet queryable) and "
                "table row counts.")(status)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return value


def _print(columns: list[str], rows: list[list[Any]], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        for row in rows:
            sys.stdout.write(json.dumps(dict(zip(columns, map(_plain, row), strict=True)), ensure_ascii=False) + "\n")
    elif fmt is OutputFormat.tsv:
        sys.stdout.write("\t".join(columns) + "\n")
        for row in rows:
            sys.stdout.write("\t".join("" if v is None else str(_plain(v)) for v in row) + "\n")
    else:
        table = Table(*columns, show_lines=False)
        for row in rows:
            table.add_row(*("∅" if v is None else str(_plain(v)) for v in row))
        from rich.console import Console

        Console().print(table)


def as_user(settings: ClickHouseSettings, user: str) -> ClickHouseSettings:
    """The store settings with `user`'s credentials: the auditor (`CLICKHOUSE__AUDITOR_USER`) with
    CLICKHOUSE__AUDITOR_PASSWORD, else the development store's default; any other user with
    SERVICEPULSE_SQL_PASSWORD (empty when unset)."""
    from servicepulse.devstack.store_server import DEV_AUDITOR_PASSWORD

    if user == settings.auditor_user:
        if settings.auditor_password is not None:
            password = settings.auditor_password.get_secret_value()
        elif settings.url is None:
            password = DEV_AUDITOR_PASSWORD  # the embedded store on this machine: its development default
        else:
            raise ValueError(f"set CLICKHOUSE__AUDITOR_PASSWORD to query {settings.url_or_embedded()} as {user}")
    else:
        password = os.environ.get("SERVICEPULSE_SQL_PASSWORD", "")
    url = urlsplit(settings.url_or_embedded())
    netloc = f"{quote(user, safe='')}@{url.hostname}" + (f":{url.port}" if url.port else "")
    if ":" in (url.hostname or ""):
        netloc = f"{quote(user, safe='')}@[{url.hostname}]" + (f":{url.port}" if url.port else "")
    return settings.model_copy(update={"url": urlunsplit(url._replace(netloc=netloc)),
                                       "password": SecretStr(password)})


def sql(
    query: str = typer.Argument(..., help="SQL; tables live in the servicepulse database"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, tsv or json"),
    user: str | None = typer.Option(None, "--user", "-u", envvar="SERVICEPULSE_SQL_USER",
                                    help="Query as this store user, e.g. auditor (docs/auditors.md); default: the "
                                    "pipeline's own credentials"),
) -> None:
    from servicepulse.connectors.clickhouse import connect

    settings = settings_and_logging()
    try:
        store = settings.clickhouse if user is None else as_user(settings.clickhouse, user)
        result = connect(store).query(query)
    except Exception as exc:
        fail(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
    _print(list(result.column_names), [list(r) for r in result.result_rows], fmt)


def _topic_lag(partitions: list[tuple[int, int | None]]) -> int | None:
    """A topic's lag for one group from (end offset, lag) per partition: None when some partition holding messages
    has nothing committed (the group has not read it yet, or does not read the topic); an empty partition with
    nothing committed lags by 0."""
    total = 0
    for end, lag in partitions:
        if lag is None and end > 0:
            return None
        total += lag or 0
    return total


def progress_rows(workers: list[GroupProgress], sink: list[GroupProgress]) -> tuple[list[list[Any]], list[list[Any]]]:
    """Per partition (end offset; the workers' committed offset and lag; the sink's) and per topic (the sums).

    The sink's lag is what is not yet queryable in ClickHouse; the workers' is what the rule agents have not seen.
    """
    sink_at = {(p.topic, p.partition): p for p in sink}
    partitions: list[list[Any]] = []
    by_topic: dict[str, list[list[Any]]] = {}
    for p in workers:
        s = sink_at.get((p.topic, p.partition))
        row = [p.topic, p.partition, p.high_watermark, p.committed, p.lag,
               None if s is None else s.committed, None if s is None else s.lag]
        partitions.append(row)
        by_topic.setdefault(p.topic, []).append(row)
    totals = [[topic, len(rows), sum(r[2] for r in rows), _topic_lag([(r[2], r[4]) for r in rows]),
               _topic_lag([(r[2], r[6]) for r in rows])]
              for topic, rows in by_topic.items()]
    return partitions, totals


def status(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f")) -> None:
    from servicepulse.connectors.clickhouse import connect, scalar_int
    from servicepulse.connectors.kafka import consumer_progress, topic_names
    from servicepulse.streams.sink import TABLES
    from servicepulse.streams.sink_process import sink_group

    settings = settings_and_logging()
    topics = topic_names(settings.kafka)
    try:
        workers = consumer_progress(settings.kafka, settings.kafka.consumer_group, topics)
        sink = consumer_progress(settings.kafka, sink_group(settings), topics)
    except Exception as exc:
        fail(f"Kafka at {settings.kafka.bootstrap_or_embedded()}: {exc}")
    partitions, totals = progress_rows(workers, sink)
    # committed/lag: the Faust workers' group (rule agents); sink_*: the sink processes' group, whose lag is what
    # is not yet queryable. The JSON keys stay those of older versions; per-topic rows are keyed `topic_total`.
    _print(["topic", "partition", "end_offset", "committed", "lag", "sink_committed", "sink_lag"], partitions, fmt)
    _print(["topic_total", "partitions", "end_offset", "worker_lag", "sink_lag"], totals, fmt)
    if settings.sink.in_worker and fmt is OutputFormat.table:
        typer.echo("SINK__IN_WORKER: the workers sink, so their lag (not sink_lag) is what is not yet queryable",
                   err=True)
    try:
        client = connect(settings.clickhouse)
        counts = [[spec.table, scalar_int(client, f"SELECT count() FROM {spec.table}")] for spec in TABLES.values()]
    except Exception as exc:
        fail(f"ClickHouse at {settings.clickhouse.url_or_embedded()}: {exc}")
    _print(["table", "rows"], counts, fmt)
