"""The read-back queries: SQL files of `sql/`, run with server-side bound parameters (`{name:Type}`)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import QueryResult

__all__ = ["query", "rows", "sql"]


@cache
def sql(name: str) -> str:
    """The text of `sql/<name>.sql`, read once."""
    return resources.files(__package__).joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def query(client: Client, name: str, **parameters: Any) -> QueryResult:
    """Run `sql/<name>.sql`; every value travels as a server-side parameter, never spliced into the SQL text."""
    return client.query(sql(name), parameters=parameters or None)


def rows(client: Client, name: str, **parameters: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in query(client, name, **parameters).result_rows]
