"""Staffing table (FTE per unit, role and month) from CSV, for productivity per full-time employee.

Reference data, not an event stream: `parse` turns the CSV into rows or errors (never raising on a bad
line); `load` writes the valid rows straight into `staffing_fte` (no topic). Header:
`month,unit,role,fte` with month `YYYY-MM`, fte a decimal (`12.5` or `12,5`). Roles used by the views:
`payroll_administrator`, `supplier_invoices`, `customer_invoices`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from . import ParseError, not_utf8
from .validation import plain_decimal

__all__ = ["HEADER", "ROLES", "StaffingRow", "load", "parse"]

HEADER = ("month", "unit", "role", "fte")
ROLES = frozenset({"payroll_administrator", "supplier_invoices", "customer_invoices", "contact_centre",
                   "pension_officer"})
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class StaffingRow:
    line: int
    month: str
    unit: str
    role: str
    fte: Decimal


def parse(stream: IO[bytes]) -> Iterator[StaffingRow | ParseError]:
    # Not UTF-8: lone surrogates, so a bad row is an error value with its line, not an exception.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != HEADER:
        yield ParseError(1, f"header must be {','.join(HEADER)}",
                         ",".join(header or []).encode("utf-8", "surrogateescape"))
        return
    for row in reader:
        line = reader.line_num
        raw = ",".join(row).encode("utf-8", "surrogateescape")
        if not any(cell.strip() for cell in row):
            continue
        if not_utf8(row):
            yield ParseError(line, "bad encoding: row is not UTF-8", raw)
            continue
        if len(row) != len(HEADER):
            yield ParseError(line, f"expected {len(HEADER)} fields, got {len(row)}", raw)
            continue
        month, unit, role, fte_text = (cell.strip() for cell in row)
        problems = []
        if not _MONTH.match(month):
            problems.append("month must be YYYY-MM")
        if not unit:
            problems.append("unit is empty")
        if role not in ROLES:
            problems.append(f"role must be one of {', '.join(sorted(ROLES))}")
        number = plain_decimal(fte_text.replace(",", "."))
        if number is None or number < 0 or number > 10_000:
            problems.append("fte must be a number between 0 and 10000")
        fte = number if number is not None else Decimal(0)
        if problems:
            yield ParseError(line, "; ".join(problems), raw)
        else:
            yield StaffingRow(line, month, unit, role, fte.quantize(Decimal("0.01")))


def load(client: Any, rows: Sequence[StaffingRow], source: str) -> int:
    """Insert rows into `staffing_fte`; the same file loaded twice is deduplicated by its token, and a newer
    load of the same (month, unit, role) replaces the older one (ReplacingMergeTree: read with FINAL)."""
    if not rows:
        return 0
    data = [[r.month, r.unit, r.role, r.fte, source] for r in rows]
    token = hashlib.sha256(repr(sorted((r.month, r.unit, r.role, str(r.fte)) for r in rows)).encode()).hexdigest()
    client.insert("staffing_fte", data, column_names=["month", "unit", "role", "fte", "source"],
                  settings={"insert_deduplication_token": token})
    return len(rows)
