"""Run the report's queries (`sql/*.sql`, bound parameters) against ClickHouse and hand the rows to figures.py."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any

from servicepulse.domain.parameters import Parameters
from servicepulse.domain.zone import STOCKHOLM

from .figures import Rows
from .period import Period

__all__ = ["QUERIES", "query_parameters", "run_queries", "sql", "today_in_stockholm"]

QUERIES = (
    "queue_targets", "contact_queues", "email", "case_limits", "cases", "complaints", "complaint_backlog",
    "productivity_payslips", "productivity_invoices", "business_targets", "suspense_postings", "suspense_open",
    "findings", "samples", "dead_letters", "review_status", "error_causes",
)


@cache
def sql(name: str) -> str:
    """The text of `sql/<name>.sql` (package data)."""
    return resources.files("servicepulse.report").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def query_parameters(period: Period, parameters: Parameters, customer: str | None) -> dict[str, Any]:
    """Every bound parameter the queries use (each query takes the ones it names)."""
    previous = period.year_before()
    return {
        "start": period.start, "end": period.end, "months": list(period.months),
        # The backlog is read at the end of each month and at the end of the period.
        "days": sorted({*period.month_ends, period.end}),
        "previous_start": previous.start, "previous_end": previous.end,
        "customer": customer or "",
        "working_days": float(parameters.value("contact.email_deadline", "working_days")),
        "aged_days": int(parameters.value("gl.suspense_aged", "max_working_days")),
    }


def run_queries(client: Any, period: Period, parameters: Parameters, customer: str | None = None) -> Rows:
    """Rows of every report query for `period` (clickhouse-connect client, server-side parameters)."""
    bound = query_parameters(period, parameters, customer)
    out: dict[str, list[dict[str, Any]]] = {}
    for name in QUERIES:
        result = client.query(sql(name), parameters=bound)
        out[name] = [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]
    return out


def today_in_stockholm() -> date:
    """The Stockholm date (open 9894 items are aged up to it)."""
    return datetime.now(STOCKHOLM).date()
