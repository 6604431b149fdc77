"""Property tests (hypothesis) for every importer and the wire decoder: bad input is an error value, never a crash.

Examples per test are small so the module stays fast in CI; `FUZZ_EXAMPLES=5000` runs every test with that
many examples instead (see docs/development.md). Runs are derandomized, so CI is reproducible.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import fastavro
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servicepulse.connectors.ingest import ParseError, Record, get_parser, staffing_csv
from servicepulse.connectors.ingest.events_jsonl import dumps
from servicepulse.connectors.serde import DecodeError, FileRegistry, WireCodec
from servicepulse.schemas.avro import avro_schema, to_datum
from servicepulse.schemas.events import EVENT_MODELS, DeadLetterKind, Event
from tests.factories.events import examples
from tests.factories.files import samples
from tests.factories.mutations import LineEdit, byte_mutations, line_count, line_edits, lines_of, replace_nth

_OVERRIDE = int(os.environ.get("FUZZ_EXAMPLES", "0") or 0)


def fuzz(examples_: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Settings for one property: `examples_` in CI (or FUZZ_EXAMPLES), no deadline, reproducible."""
    return settings(max_examples=_OVERRIDE or examples_, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


Item = Record[Event] | ParseError | staffing_csv.StaffingRow
SAMPLES = samples()
FORMATS = sorted(SAMPLES)


def _parse(fmt: str, data: bytes) -> list[Item]:
    parser: Callable[[io.BytesIO], Iterator[Any]] = (
        staffing_csv.parse if fmt == "staffing-csv" else get_parser(fmt))
    return list(parser(io.BytesIO(data)))


def parse_checked(fmt: str, data: bytes) -> list[Item]:
    """Parse and check the contract: only records and error values, every error's line inside the input."""
    out = _parse(fmt, data)
    last = line_count(data)
    for item in out:
        assert isinstance(item, Record | ParseError | staffing_csv.StaffingRow), item
        if isinstance(item, ParseError):
            assert 1 <= item.line <= last, f"{fmt}: error line {item.line} outside 1..{last}: {item.reason}"
            assert item.reason
        else:
            assert 0 <= item.line <= last, f"{fmt}: record line {item.line} outside 0..{last}"
    return out


# --------------------------------------------------------------------------- any bytes, damaged files


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz(60)
@given(data=st.binary(max_size=600))
@example(data=b"\n")  # libxml2 named line 2 of a one-line file
@example(data=b"#SIETYP 4\x1c#VER\x0c{\n}")  # str.splitlines split at \x1c and \x0c: lines past the end
@example(data=b"\x80")  # not UTF-8: the CSV readers raised UnicodeDecodeError
def test_arbitrary_bytes_give_records_or_errors(fmt: str, data: bytes) -> None:
    parse_checked(fmt, data)


@pytest.mark.parametrize("fmt", FORMATS)
@fuzz(100)
@given(st.data())
def test_damaged_valid_files_give_records_or_errors(fmt: str, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(SAMPLES[fmt]), label="sample")
    parse_checked(fmt, data.draw(byte_mutations(original), label="mutated"))


# --------------------------------------------------------------------------- line edits keep what they did not touch


def _units(fmt: str, data: bytes) -> list[tuple[int, int]]:
    """Line ranges that stand or fall together: a voucher (SIE), a deposit (BgMax), else a line or row."""
    lines = [raw.strip() for raw in lines_of(data)]
    opener, closer = {"sie4": (b"#VER", b"}"), "bgmax": (b"05", b"15")}.get(fmt, (b"", b""))
    if not opener:
        return [(i, i) for i in range(1, len(lines) + 1)]
    units, start = [], 0
    for number, line in enumerate(lines, start=1):
        if line.startswith(opener):
            start = number
        elif line.startswith(closer) and start:
            units.append((start, number))
            start = 0
    return units


def _first_body_line(fmt: str, data: bytes) -> int:
    """Edits before this line change the whole file by design (header, layout, SIE type, company)."""
    if fmt == "sie4":
        return next(n for n, line in enumerate(lines_of(data), start=1) if line.startswith(b"#VER"))
    return 2 if fmt in ("bgmax", "calls-csv", "staffing-csv") else 1


def _key(fmt: str, item: Item) -> object:
    if isinstance(item, staffing_csv.StaffingRow):
        return (item.month, item.unit, item.role, item.fte)
    assert isinstance(item, Record)
    body = item.event.model_dump()
    if fmt == "sie4":
        # The file's encoding is decided from all its bytes (PC8 vs Latin-1 vs UTF-8): an edit elsewhere may
        # change how the free text reads, never ids, accounts, amounts or dates.
        body = {k: v for k, v in body.items() if k not in ("text", "registered_by")}
    return body


def _check_untouched_kept(fmt: str, original: bytes, edit: LineEdit) -> None:
    before = [i for i in parse_checked(fmt, original) if not isinstance(i, ParseError)]
    after = parse_checked(fmt, edit.data)
    if fmt == "bgmax" and any(isinstance(i, ParseError) and i.reason.startswith("file rejected") for i in after):
        # The end record's control counts no longer match: BgMax rejects the whole file, every deposit as an
        # error value (never some of them silently).
        assert not any(isinstance(i, Record) for i in after)
        return
    kept = {(i.line, repr(_key(fmt, i))) for i in after if not isinstance(i, ParseError)}
    units = _units(fmt, original)
    for item in before:
        unit = next(((a, b) for a, b in units if a <= item.line <= b), (item.line, item.line))
        if edit.near(*unit, margin=0):
            continue
        assert (edit.moved[item.line], repr(_key(fmt, item))) in kept, (
            f"{fmt}: record of line {item.line} (now {edit.moved[item.line]}) lost after editing "
            f"lines {sorted(edit.touched)}")


@pytest.mark.parametrize("fmt", ["sie4", "bgmax", "calls-csv", "events-jsonl", "staffing-csv"])
@fuzz(80)
@given(st.data())
def test_line_edits_keep_every_record_they_did_not_touch(fmt: str, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(SAMPLES[fmt]), label="sample")
    # In CSV a '"' opens a field that runs on over the next lines (RFC 4180): not a one-line edit.
    edit = data.draw(line_edits(original, first=_first_body_line(fmt, original), quote="csv" not in fmt),
                     label="edit")
    _check_untouched_kept(fmt, original, edit)


@pytest.mark.parametrize("fmt", ["calls-csv", "events-jsonl"])
@fuzz(80)
@given(st.data())
def test_no_line_is_dropped_silently(fmt: str, data: st.DataObject) -> None:
    """One line, one row or event: each non-blank line gives records or an error value with its number."""
    original = data.draw(st.sampled_from(SAMPLES[fmt]), label="sample")
    edited = data.draw(line_edits(original, first=_first_body_line(fmt, original), quote=False), label="edit")
    seen = {i.line for i in parse_checked(fmt, edited.data)}
    if fmt == "calls-csv" and seen == {1}:  # the header itself was edited away: one error for the file
        return
    for number, line in enumerate(edited.data.split(b"\n"), start=1):
        if line.strip() and number >= _first_body_line(fmt, original):
            assert number in seen, f"{fmt}: line {number} {line[:60]!r} gave neither records nor an error"


# --------------------------------------------------------------------------- values the tables cannot hold

_BAD_DATES = [b"19000101", b"21500101", b"20260230", b"00000000", b"99991231"]
_BAD_ISO_DATES = [b"1900-01-01", b"2150-01-01", b"2026-02-30", b"0001-01-01", b"9999-12-31"]
_BAD_AMOUNTS = [b"99999999999999999999.00", b"-92233720368547758.09", b"1e400", b"NaN", b"12.345", b"-Infinity",
                b"0x10", b"1_000"]

# format -> (regex whose group 1 is replaced, bad values, how far the damage reaches: voucher/deposit/element)
_INJECTIONS: dict[str, list[tuple[bytes, list[bytes]]]] = {
    "sie4": [(rb"#VER \S+ \S+ (\d{8})", _BAD_DATES), (rb"#TRANS \d+ \{[^}\n]*\} (\S+)", _BAD_AMOUNTS),
             (rb"#TRANS \d+ \{[^}\n]*\} \S+ (\d{8})", _BAD_DATES)],
    "bgmax": [(rb"\n15\d{35}(\d{8})", _BAD_DATES)],
    "camt054": [(rb"<Ntry>\s*<Amt[^>]*>([^<]*)</Amt>", _BAD_AMOUNTS),
                (rb"<BookgDt><Dt>([^<]*)</Dt>", _BAD_ISO_DATES)],
    "paxml": [(rb"<lonrad>[^\n]*?<belopp>([^<]*)</belopp>", _BAD_AMOUNTS),
              (rb"<lonrad>[^\n]*?<datumfrom>([^<]*)</datumfrom>", _BAD_ISO_DATES)],
    "calls-csv": [(rb"\n[^,\n]*,[^,\n]*,[^,\n]*,[^,\n]*,([^,\n]*)", [*_BAD_ISO_DATES, b"2026-03-12T09:00:00"])],
    "events-jsonl": [(rb'"occurred_at":"([^"]*)"', _BAD_ISO_DATES), (rb'"amount_ore":(-?\d+)', [
        b"9223372036854775808", b"-9223372036854775809", b"1e30", b"\"x\""])],
}


def _unit_of(fmt: str, data: bytes, line: int) -> tuple[int, int]:
    """The lines a bad value at `line` may take down with it."""
    if fmt in ("sie4", "bgmax"):
        return next(((a, b) for a, b in _units(fmt, data) if a <= line <= b), (line, line))
    if fmt == "camt054":  # the entry
        lines = lines_of(data)
        start = max(n for n in range(1, line + 1) if b"<Ntry>" in lines[n - 1])
        end = next(n for n in range(line, len(lines) + 1) if b"</Ntry>" in lines[n - 1])
        return start, end
    if fmt == "paxml":  # the payslip
        lines = lines_of(data)
        start = max(n for n in range(1, line + 1) if b"<lonebesked" in lines[n - 1])
        end = next(n for n in range(line, len(lines) + 1) if b"</lonebesked>" in lines[n - 1])
        return start, end
    return line, line


@pytest.mark.parametrize("fmt", sorted(_INJECTIONS))
@fuzz(40)
@given(st.data())
def test_values_the_tables_cannot_hold_are_errors_at_their_line(fmt: str, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(SAMPLES[fmt]), label="sample")
    choices = [(p, v) for p, v in _INJECTIONS[fmt] if re.search(p, original)]
    pattern, values = data.draw(st.sampled_from(choices), label="field")
    value = data.draw(st.sampled_from(values), label="value")
    mutated, line = replace_nth(original, pattern, data.draw(st.integers(0, 50), label="nth"), value)
    first, last = _unit_of(fmt, original, line)
    after = parse_checked(fmt, mutated)
    errors = [i for i in after if isinstance(i, ParseError)]
    before_errors = [i for i in parse_checked(fmt, original) if isinstance(i, ParseError)]
    assert errors != before_errors, f"{fmt}: {value!r} at line {line} passed without an error"
    assert any(first <= e.line <= last for e in errors), (
        f"{fmt}: no error inside lines {first}..{last} for {value!r}: {[(e.line, e.reason) for e in errors]}")
    unit_records = [i for i in after if isinstance(i, Record) and first <= i.line <= last]
    if fmt in ("sie4", "bgmax"):  # a voucher must balance, a deposit must add up: rejected whole
        assert not unit_records
    # Everything outside the damaged voucher/deposit/entry/payslip/row is still read as before.
    edit = LineEdit(mutated, frozenset(range(first, last + 1)), {i: i for i in range(1, line_count(original) + 1)})
    if fmt in ("sie4", "bgmax", "calls-csv", "events-jsonl"):
        _check_untouched_kept(fmt, original, edit)
    elif fmt == "camt054":
        kept = {(i.line, repr(i.event)) for i in after if isinstance(i, Record)}
        for item in parse_checked(fmt, original):
            if isinstance(item, Record) and not first <= item.line <= last:
                assert (item.line, repr(item.event)) in kept
    else:  # paxml: one run per file, line numbers in event ids shift when a line is rejected
        kept_lines = {(i.line, i.event.model_dump()["amount_ore"]) for i in after
                      if isinstance(i, Record) and i.line and "amount_ore" in i.event.model_dump()}
        for item in parse_checked(fmt, original):
            if isinstance(item, Record) and item.line and not first <= item.line <= last:
                dumped = item.event.model_dump()
                if "amount_ore" in dumped:
                    assert (item.line, dumped["amount_ore"]) in kept_lines


# --------------------------------------------------------------------------- well-formed files, odd values

_ODD_VALUES = st.one_of(st.text(max_size=20), st.sampled_from([
    "", " ", "-1", "0", "1e400", "NaN", "1900-01-01", "2150-01-01", "2026-13-01", "2026-02-30T25:00:00",
    "9999-12-31T23:59:59-23:59", "CRDT", "DBIT", "BRUTTO", "SKATT", "202613", "2026-11-A1", "3.0",
    "199001012344", "99999999999999999999", "true"]))
_XML_TEXT = re.compile(rb">([^<>\n]*)</")
_XML_ATTRIBUTE = re.compile(rb'="([^"\n]*)"')


@pytest.mark.parametrize("fmt", ["camt054", "paxml"])
@fuzz(60)
@given(st.data())
def test_xml_with_odd_element_values_gives_records_or_errors(fmt: str, data: st.DataObject) -> None:
    """Byte damage mostly makes XML malformed (rejected whole); this keeps it well-formed and varies values."""
    mutated = SAMPLES[fmt][0]
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        matches = list(data.draw(st.sampled_from([_XML_TEXT, _XML_ATTRIBUTE]), label="where").finditer(mutated))
        match = matches[data.draw(st.integers(0, len(matches) - 1), label="which")]
        value = xml_escape(data.draw(_ODD_VALUES, label="value"), {'"': "&quot;"}).encode("utf-8", "surrogatepass")
        mutated = mutated[:match.start(1)] + value + mutated[match.end(1):]
    parse_checked(fmt, mutated)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | _ODD_VALUES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5)


@fuzz(100)
@given(st.data())
def test_jsonl_with_odd_field_values_gives_records_or_errors(data: st.DataObject) -> None:
    doc = orjson.loads(dumps(data.draw(st.sampled_from(examples()), label="event")))
    key = data.draw(st.sampled_from(sorted(doc)), label="field")
    if data.draw(st.booleans(), label="drop"):
        del doc[key]
    else:
        doc[key] = data.draw(_JSON_VALUES, label="value")
    try:
        line = orjson.dumps(doc)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: not a line anyone can write
        return
    parse_checked("events-jsonl", line + b"\n")


# --------------------------------------------------------------------------- the wire decoder

CODEC = WireCodec(FileRegistry())
EXAMPLES = examples()
ENCODED = [CODEC.encode(e) for e in EXAMPLES]
SCHEMA_IDS = sorted({int.from_bytes(p[1:5], "big") for p in ENCODED})


def _decode_checked(payload: bytes | None, model: type[Event]) -> Event | None:
    try:
        event = CODEC.decode(payload, model)
    except DecodeError as exc:
        assert exc.kind in DeadLetterKind
        assert exc.reason
        return None
    assert isinstance(event, model)
    return event


@fuzz(150)
@given(payload=st.binary(max_size=300), model=st.sampled_from(EVENT_MODELS))
def test_decoder_raises_only_decode_errors_on_any_bytes(payload: bytes, model: type[Event]) -> None:
    _decode_checked(payload, model)


@fuzz(300)
@given(schema_id=st.sampled_from(SCHEMA_IDS), body=st.binary(max_size=300), model=st.sampled_from(EVENT_MODELS))
def test_decoder_raises_only_decode_errors_on_any_body_behind_a_known_schema(
        schema_id: int, body: bytes, model: type[Event]) -> None:
    _decode_checked(b"\x00" + schema_id.to_bytes(4, "big") + body, model)


@fuzz(300)
@given(st.data())
def test_decoder_raises_only_decode_errors_on_damaged_payloads(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(EXAMPLES) - 1), label="example")
    payload = data.draw(byte_mutations(ENCODED[index]), label="mutated")
    _decode_checked(payload, type(EXAMPLES[index]))


def _like(value: object) -> st.SearchStrategy[Any]:
    """Any value of the same Avro-writable type (so the body is well-formed Avro, the content odd)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(-2**63, 2**63 - 1)
    if isinstance(value, float):
        return st.floats()
    if isinstance(value, str):
        return st.text(max_size=20)
    if isinstance(value, bytes):
        return st.binary(max_size=20)
    if isinstance(value, datetime):
        return st.datetimes(timezones=st.just(UTC))
    if isinstance(value, date):
        return st.dates()
    if isinstance(value, Decimal):
        return st.decimals(min_value=-10**10, max_value=10**10, places=4, allow_nan=False, allow_infinity=False)
    if isinstance(value, list):
        return st.lists(st.text(max_size=5), max_size=3)
    return st.none()


@fuzz(150)
@given(st.data())
def test_decoder_raises_only_decode_errors_on_well_formed_bodies_with_odd_values(data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(EXAMPLES) - 1), label="example")
    event = EXAMPLES[index]
    datum = dict(to_datum(event))
    key = data.draw(st.sampled_from(sorted(datum)), label="field")
    datum[key] = data.draw(st.one_of(_like(datum[key]), st.none()), label="value")
    body = io.BytesIO()
    try:
        fastavro.schemaless_writer(body, fastavro.parse_schema(avro_schema(type(event))), datum)
    except (ValueError, TypeError, AttributeError, OverflowError):  # the writer refuses it: nothing to decode
        return
    _decode_checked(ENCODED[index][:5] + body.getvalue(), type(event))


@fuzz(50)
@given(event=st.sampled_from(EXAMPLES))
def test_every_example_event_round_trips(event: Event) -> None:
    assert CODEC.decode(CODEC.encode(event), type(event)) == event


# --------------------------------------------------------------------------- what the fuzzer found, pinned


def _lines(fmt: str, data: bytes) -> tuple[list[int], list[int]]:
    out = parse_checked(fmt, data)
    return ([i.line for i in out if isinstance(i, Record | staffing_csv.StaffingRow)],
            [i.line for i in out if isinstance(i, ParseError)])


def _sie(extra: str) -> bytes:
    return ("#FORMAT PC8\n#SIETYP 4\n#FTGNR 1040\n" + extra
            + '#VER A 2 20260302 "ok"\n{\n#TRANS 1930 {} 10.00\n#TRANS 3010 {} -10.00\n}\n').encode()


def test_sie_amount_infinity_is_an_error_not_an_overflow() -> None:
    records, errors = _lines("sie4", _sie('#VER A 1 20260302 "x"\n{\n#TRANS 1930 {} -Infinity\n}\n'))
    assert 6 in errors and records == [10, 11]


def test_sie_voucher_without_a_block_is_an_error() -> None:
    records, errors = _lines("sie4", _sie('#VER A 1 20260302 "header only"\n'))
    assert errors == [4] and records == [7, 8]


def test_bgmax_impossible_payment_date_rejects_its_deposit_only() -> None:
    data = SAMPLES["bgmax"][0].replace(b"0123456789020260313", b"0123456789020260230", 1)
    records, errors = _lines("bgmax", data)
    assert errors == [10] and records == [12]


@pytest.mark.parametrize("fmt", ["calls-csv", "staffing-csv"])
def test_csv_row_that_is_not_utf8_is_an_error_at_its_line(fmt: str) -> None:
    lines = lines_of(SAMPLES[fmt][0])
    data = b"\n".join([*lines[:2], b"\x80\xff,x", *lines[2:]]) + b"\n"
    records, errors = _lines(fmt, data)
    assert errors == [3]
    assert 2 in records and 4 in records


@pytest.mark.parametrize(("fmt", "field"), [("camt054", b'<Amt Ccy="SEK">999.00</Amt>'),
                                           ("paxml", b"<belopp>32000</belopp>"), ("sie4", b"1250.00"),
                                           ("staffing-csv", b"20.25")])
@pytest.mark.parametrize("value", ["1_000", "1e3", "NaN"])
def test_amounts_are_plain_decimals(fmt: str, field: bytes, value: str) -> None:
    original = SAMPLES[fmt][0]
    assert field in original
    before = _lines(fmt, original)[1]
    after = _lines(fmt, original.replace(field, re.sub(rb">[^<]*<|^[\d.]+$", lambda m: (
        b">" + value.encode() + b"<") if m.group().startswith(b">") else value.encode(), field), 1))[1]
    assert len(after) > len(before)
