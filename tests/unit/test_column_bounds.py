"""Models refuse what the ClickHouse columns cannot hold, and every importer turns that into a rejected line."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from servicepulse.connectors.ingest import ParseError, Record, get_parser
from servicepulse.connectors.serde import DecodeError, FileRegistry, WireCodec
from servicepulse.schemas.avro import avro_schema, to_datum
from servicepulse.schemas.events import (
    DATE_MAX,
    DATE_MIN,
    DATETIME_MAX,
    DATETIME_MIN,
    EVENT_MODELS,
    INT32_FIELDS,
    INT64_MAX,
    STRING_MAX,
    DeadLetter,
    DeadLetterKind,
    Event,
    InvoicePosting,
    PayLine,
)
from tests.factories.events import examples

MIGRATIONS = Path(__file__).parents[2] / "connectors" / "migrations"


def _columns() -> dict[str, dict[str, str]]:
    """table -> column -> type, read from the CREATE TABLE statements of the migrations."""
    tables: dict[str, dict[str, str]] = {}
    for path in sorted(MIGRATIONS.glob("*.sql")):
        for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)\s*\((.*?)\n\)", path.read_text(), re.S):
            cols = {}
            for line in body.splitlines():
                parts = line.strip().rstrip(",").split(None, 1)
                if len(parts) == 2:
                    cols[parts[0]] = parts[1].split(" DEFAULT")[0]
            tables[name] = cols
    return tables


def test_bounds_match_the_column_types() -> None:
    from servicepulse.streams.sink import TABLES

    tables = _columns()
    for spec in TABLES.values():
        cols = tables[spec.table]
        for name, info in spec.model.model_fields.items():
            column = cols[name].removeprefix("Nullable(").removesuffix(")")
            hint = str(info.annotation)
            if "datetime.datetime" in hint or "AwareDatetime" in hint:
                assert column.startswith("DateTime64(3"), (spec.table, name, column)
            elif "datetime.date" in hint:
                assert column == "Date", (spec.table, name, column)  # Date32 would allow earlier dates
            elif re.search(r"\bint\b", hint):
                assert column == ("Int32" if name in INT32_FIELDS else "Int64"), (spec.table, name, column)


def _posting(**over: Any) -> dict[str, Any]:
    base = {"event_id": "e", "kind": "ledger_posting", "company": "1040", "account": "1930", "amount_ore": 1,
            "posting_date": date(2026, 3, 2), "recorded_at": datetime(2026, 3, 2, 12, tzinfo=UTC)}
    return base | over


@pytest.mark.parametrize("over", [
    {"posting_date": date(1900, 1, 1)}, {"posting_date": date(1969, 12, 31)}, {"document_date": date(2150, 1, 1)},
    {"amount_ore": INT64_MAX + 1}, {"amount_ore": -(2**63) - 1},
    {"recorded_at": datetime(1899, 12, 31, tzinfo=UTC)}, {"recorded_at": datetime(2300, 1, 1, tzinfo=UTC)},
    {"text": "x" * (STRING_MAX + 1)},
])
def test_out_of_range_values_are_refused_with_the_field(over: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        InvoicePosting(**_posting(**over))
    (err,) = info.value.errors()
    assert err["loc"] == (next(iter(over)),) and "does not fit its ClickHouse column" in err["msg"]


@pytest.mark.parametrize("over", [
    {"posting_date": DATE_MIN}, {"posting_date": DATE_MAX}, {"amount_ore": INT64_MAX},
    {"recorded_at": DATETIME_MIN}, {"recorded_at": DATETIME_MAX}, {"text": "x" * STRING_MAX},
])
def test_the_bounds_themselves_are_accepted(over: dict[str, Any]) -> None:
    InvoicePosting(**_posting(**over))


def test_decimal_and_int32_bounds() -> None:
    line = next(e for e in examples() if isinstance(e, PayLine))
    with pytest.raises(ValidationError):
        PayLine(**(line.__dict__ | {"quantity": 10**14}))  # Decimal(18, 4) holds 14 integer digits
    dead = next(e for e in examples() if isinstance(e, DeadLetter))
    with pytest.raises(ValidationError):
        DeadLetter(**(dead.__dict__ | {"source_partition": 2**31}))


def test_a_dead_letter_is_always_constructible() -> None:
    dead = next(e for e in examples() if isinstance(e, DeadLetter))
    big = DeadLetter(**(dead.__dict__ | {"reason": "r" * (STRING_MAX * 2), "payload": b"p" * (5 * 2**20)}))
    assert len(big.reason) == STRING_MAX and len(big.payload) < 5 * 2**20


def test_every_example_still_fits() -> None:
    for model in EVENT_MODELS:
        assert any(isinstance(e, model) for e in examples())


def test_wire_event_outside_the_columns_is_an_invalid_dead_letter() -> None:
    import fastavro

    codec = WireCodec(FileRegistry())
    event = InvoicePosting(**_posting())
    datum = to_datum(event) | {"posting_date": date(1900, 1, 1)}
    buf = io.BytesIO()
    buf.write(codec.encode(event)[:5])
    fastavro.schemaless_writer(buf, fastavro.parse_schema(avro_schema(InvoicePosting)), datum)
    with pytest.raises(DecodeError) as info:
        codec.decode(buf.getvalue(), InvoicePosting)
    assert info.value.kind is DeadLetterKind.invalid and "posting_date" in info.value.reason


def _parse(fmt: str, text: str) -> tuple[list[Record[Event]], list[ParseError]]:
    out = list(get_parser(fmt)(io.BytesIO(text.encode())))
    return [r for r in out if isinstance(r, Record)], [e for e in out if isinstance(e, ParseError)]


SIE = """#FLAGGA 0
#SIETYP 4
#FTGNR 1040
#VER A 1 20260302 "ok"
{
   #TRANS 1930 {} 100.00
   #TRANS 3010 {} -100.00
}
#VER A 2 19000101 "placeholder date"
{
   #TRANS 1930 {} 5.00
   #TRANS 3010 {} -5.00
}
#VER A 3 20260302 "one line in 2150"
{
   #TRANS 1930 {} 5.00
   #TRANS 3010 {} -5.00 20260302
   #TRANS 1930 {} 1.00 21500101
   #TRANS 3010 {} -1.00
}
#VER A 4 20260302 "too many öre"
{
   #TRANS 1930 {} 100000000000000000.00
   #TRANS 3010 {} -100000000000000000.00
}
#VER A 5 20260303 "ok"
{
   #TRANS 1930 {} 1.00
   #TRANS 3010 {} -1.00
}
"""


def test_sie4_rejects_vouchers_the_tables_cannot_hold_with_their_lines() -> None:
    records, errors = _parse("sie4", SIE)
    assert [(getattr(r.event, "voucher_number"), r.line) for r in records]  # noqa: B009 == [("1", 6), ("1", 7), ("5", 28), ("5", 29)]
    # Every bad posting is named with its #TRANS line, and no half voucher (A 3) is published.
    assert [e.line for e in errors] == [11, 12, 18, 23, 24]
    assert all("rejected whole" in e.reason and "ClickHouse column" in e.reason for e in errors)
    assert "1900-01-01" in errors[0].reason and "2150-01-01" in errors[2].reason
    assert "Int64" in errors[-1].reason


def test_events_jsonl_rejects_out_of_range_lines() -> None:
    ok = '{"schema": "InvoicePosting", "event_id": "e1", "kind": "ledger_posting", "company": "1", ' \
         '"account": "1930", "amount_ore": 1, "posting_date": "2026-03-02", "recorded_at": "2026-03-02T12:00:00Z"}'
    bad = ok.replace("e1", "e2").replace("2026-03-02\"", "1900-01-01\"")
    records, errors = _parse("events-jsonl", ok + "\n" + bad + "\n")
    assert [r.line for r in records] == [1] and [e.line for e in errors] == [2]


def test_calls_csv_rejects_out_of_range_rows() -> None:
    from servicepulse.connectors.ingest.calls_csv import HEADER

    def row(contact: str, offered: str) -> str:
        values = {"contact_id": contact, "channel": "phone", "queue": "q", "org": "o", "offered_at": offered,
                  "abandoned": "false"}
        return ",".join(values.get(h, "") for h in HEADER)

    text = "\n".join([",".join(HEADER), row("c1", "2026-03-02T09:00:00+01:00"),
                      row("c2", "1899-12-31T09:00:00+01:00"), row("c3", "2300-01-01T09:00:00+01:00")]) + "\n"
    records, errors = _parse("calls-csv", text)
    assert [r.line for r in records] == [2] and [e.line for e in errors] == [3, 4]
    assert all("ClickHouse column" in e.reason for e in errors)


DATA = Path(__file__).parents[1] / "data" / "finance"


def test_bgmax_rejects_a_payment_date_the_tables_cannot_hold() -> None:
    text = (DATA / "bgmax_valid.txt").read_text(encoding="latin-1")
    valid, valid_errors = _parse_bytes("bgmax", text.encode("latin-1"))
    assert valid and not valid_errors
    lines = text.splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith("15"))
    lines[first] = lines[first][:37] + "19000101" + lines[first][45:]
    records, errors = _parse_bytes("bgmax", "".join(lines).encode("latin-1"))
    assert errors and all("ClickHouse column" in e.reason for e in errors)
    assert len(records) + len(errors) == len(valid)  # every payment of that deposit rejected, with its record


def test_camt054_rejects_a_booking_date_the_tables_cannot_hold() -> None:
    text = (DATA / "camt054_valid.xml").read_text(encoding="utf-8")
    valid, _ = _parse_bytes("camt054", text.encode())
    bad = re.sub(r"<BookgDt>\s*<Dt>[^<]+</Dt>", "<BookgDt><Dt>2150-01-01</Dt>", text, count=1)
    assert bad != text
    records, errors = _parse_bytes("camt054", bad.encode())
    assert errors and all("ClickHouse column" in e.reason for e in errors) and all(e.line > 1 for e in errors)
    assert len(records) < len(valid)


def _parse_bytes(fmt: str, data: bytes) -> tuple[list[Record[Event]], list[ParseError]]:
    out = list(get_parser(fmt)(io.BytesIO(data)))
    return [r for r in out if isinstance(r, Record)], [e for e in out if isinstance(e, ParseError)]


PAXML = Path(__file__).parents[1] / "data" / "payroll" / "main-202611.paxml"


def test_paxml_rejects_a_pay_line_date_the_tables_cannot_hold() -> None:
    text = PAXML.read_text(encoding="utf-8")
    valid, valid_errors = _parse_bytes("paxml", text.encode())  # the sample has two planted bad lines
    bad = text.replace("<datumfrom>2026-10-17T00:00:00</datumfrom>", "<datumfrom>1900-01-01T00:00:00</datumfrom>")
    assert bad != text
    records, errors = _parse_bytes("paxml", bad.encode())
    (error,) = [e for e in errors if e not in valid_errors]
    assert "ClickHouse column" in error.reason and error.line > 1
    assert len(records) == len(valid) - 1


def test_paxml_rejects_the_whole_run_when_its_header_cannot_be_stored() -> None:
    text = PAXML.read_text(encoding="utf-8")
    bad = re.sub(r"<betaldatum>[^<]+</betaldatum>", "<betaldatum>2150-01-01</betaldatum>", text)
    records, errors = _parse_bytes("paxml", bad.encode())
    assert records == [] and any("rejected whole" in e.reason for e in errors)
