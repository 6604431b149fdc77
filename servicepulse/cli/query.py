"""`sql` (a query, printed for people or machines) and `status` (topics, consumer progress, tables)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table

from .common import fail, settings_and_logging

__all__ = ["register"]


class OutputFormat(StrEnum):
    table = "table"
    tsv = "tsv"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(help='Run a query: servicepulse sql "SELECT count() FROM call_events".')(sql)
    app.command(help="Topics, consumer progress and table row counts.")(status)


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


def sql(
    query: str = typer.Argument(..., help="SQL; tables live in the servicepulse database"),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table, tsv or json"),
) -> None:
    from servicepulse.connectors.clickhouse import connect

    settings = settings_and_logging()
    try:
        result = connect(settings.clickhouse).query(query)
    except Exception as exc:
        fail(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
    _print(list(result.column_names), [list(r) for r in result.result_rows], fmt)


def status(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f")) -> None:
    from servicepulse.connectors.clickhouse import connect, scalar_int
    from servicepulse.connectors.kafka import consumer_progress, topic_names
    from servicepulse.streams.sink import TABLES

    settings = settings_and_logging()
    try:
        progress = consumer_progress(settings.kafka, settings.kafka.consumer_group, topic_names(settings.kafka))
    except Exception as exc:
        fail(f"Kafka at {settings.kafka.bootstrap_or_embedded()}: {exc}")
    rows = [[p.topic, p.partition, p.high_watermark, p.committed, p.lag] for p in progress]
    _print(["topic", "partition", "end_offset", "committed", "lag"], rows, fmt)
    try:
        client = connect(settings.clickhouse)
        counts = [[spec.table, scalar_int(client, f"SELECT count() FROM {spec.table}")] for spec in TABLES.values()]
    except Exception as exc:
        fail(f"ClickHouse at {settings.clickhouse.url_or_embedded()}: {exc}")
    _print(["table", "rows"], counts, fmt)
