"""Staffing CSV (FTE per unit, role, month): valid rows and clear errors, never an exception."""

from __future__ import annotations

import io
from decimal import Decimal

from servicepulse.connectors.ingest import ParseError
from servicepulse.connectors.ingest.staffing_csv import StaffingRow, parse

GOOD = ("month,unit,role,fte\n2026-03,Lön Team A,payroll_administrator,12.5\n"
        "2026-03,Lön Team B,payroll_administrator,\"7,25\"\n")


def test_valid_rows() -> None:
    rows = list(parse(io.BytesIO(GOOD.encode())))
    assert rows == [StaffingRow(2, "2026-03", "Lön Team A", "payroll_administrator", Decimal("12.50")),
                    StaffingRow(3, "2026-03", "Lön Team B", "payroll_administrator", Decimal("7.25"))]


def test_bad_lines_are_errors_and_the_rest_flows() -> None:
    text = GOOD + "2026-13,X,payroll_administrator,1\n2026-04,,cook,-1\n2026-04,Y,supplier_invoices\n\n" \
        "2026-04,Z,supplier_invoices,3\n"
    out = list(parse(io.BytesIO(text.encode())))
    errors = [o for o in out if isinstance(o, ParseError)]
    assert [e.line for e in errors] == [4, 5, 6]
    assert "month must be YYYY-MM" in errors[0].reason
    assert "unit is empty" in errors[1].reason and "role must be" in errors[1].reason and "fte" in errors[1].reason
    assert "expected 4 fields" in errors[2].reason
    assert [o.unit for o in out if isinstance(o, StaffingRow)] == ["Lön Team A", "Lön Team B", "Z"]


def test_wrong_header() -> None:
    out = list(parse(io.BytesIO(b"unit,fte\nA,1\n")))
    assert len(out) == 1 and isinstance(out[0], ParseError) and "header" in out[0].reason
