"""`sql` (a query, printed for people or machines) and `status` (topics, consumer progress, tables)."""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import typer
from pydantic import SecretStr
from rich.table import Table

from servicepulse.config import ClickHouseSettings

from .common import fail, settings_and_logging

__all__ = ["as_user", "register"]


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
