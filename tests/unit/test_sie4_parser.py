"""SIE 4 importer: balanced vouchers arrive as postings, broken ones are rejected with their line and reason."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from servicepulse.connectors.ingest import ParseError, Record, get_parser
from servicepulse.connectors.ingest.sie4 import decode, tokens
from servicepulse.schemas.events import InvoicePosting
from tests.factories.narrowing import records_of

DATA = Path(__file__).parents[1] / "data" / "finance"
SHARED = Path(__file__).parents[3] / "shared" / "formats" / "sie4"


def parse_file(name: str) -> tuple[list[Record[InvoicePosting]], list[ParseError]]:
    with (DATA / name).open("rb") as handle:
        out = list(get_parser("sie4")(handle))
    return records_of(InvoicePosting, out), [e for e in out if isinstance(e, ParseError)]


def test_valid_export_gives_one_posting_per_trans_in_ore() -> None:
    records, errors = parse_file("sie4_valid.se")
    assert errors == []
    events = [r.event for r in records]
    # A 1 has three lines; B 2 has two #TRANS (the #BTRANS removed, the #RTRANS doubled by its #TRANS); B 3 two.
    assert [(e.voucher_series, e.voucher_number, e.account, e.amount_ore) for e in events] == [
        ("A", "1", "1510", 125000), ("A", "1", "3010", -100000), ("A", "1", "2611", -25000),
        ("B", "2", "1930", 125000), ("B", "2", "1510", -125000),
        ("B", "3", "1930", 5), ("B", "3", "9894", -5),
    ]
    assert {e.company for e in events} == {"1040"}
    assert all(e.source == "sie4" and e.kind.value == "ledger_posting" for e in events)
    assert events[0].posting_date == date(2026, 3, 2)
    assert events[4].text == "Rättat belopp" and events[4].registered_by == "EK-017"
    # Code page 437 decoded: the Swedish letters survive.
    assert events[5].text == "Oidentifierad inbetalning Åkeriet"
    assert len({e.event_id for e in events}) == len(events)
    assert records[0].line == 19  # the line of its #TRANS


def test_import_type_4i_without_balances() -> None:
    records, errors = parse_file("sie4_valid_import.si")
    assert errors == []
    assert [(r.event.account, r.event.amount_ore, r.event.text) for r in records] == [
        ("9894", 5, "Omförd från ver B 3"), ("3990", -5, "Omförd från ver B 3")
    ]


def test_unbalanced_voucher_is_rejected_whole_and_the_others_arrive() -> None:
    records, errors = parse_file("sie4_unbalanced.se")
    assert {r.event.voucher_number for r in records} == {"10", "12"}
    assert len(errors) == 1
    assert errors[0].line == 23
    assert "voucher A 11 does not balance" in errors[0].reason and "0.01" in errors[0].reason
    assert b"#TRANS 2611 {} -19.99" in errors[0].raw


def test_unsupported_format_is_a_clear_encoding_error() -> None:
    records, errors = parse_file("sie4_bad_format.se")
    assert records == []
    assert errors[0].line == 1 and "#FORMAT UTF16 is not supported" in errors[0].reason


def test_control_byte_rejects_its_voucher_only() -> None:
    records, errors = parse_file("sie4_bad_encoding.se")
    assert {r.event.voucher_number for r in records} == {"1", "3"}
    assert [e.line for e in errors] == [25, 23]
    assert "bad encoding" in errors[0].reason and "voucher B 2 rejected whole" in errors[1].reason


def test_truncated_file_rejects_the_open_voucher() -> None:
    records, errors = parse_file("sie4_truncated.se")
    assert {r.event.voucher_number for r in records} == {"1", "2"}
    assert len(errors) == 1 and "file ends inside voucher B 3" in errors[0].reason


def test_amount_with_three_decimals_and_bad_account() -> None:
    text = "\r\n".join([
        "#FLAGGA 0", "#FORMAT PC8", "#SIETYP 4", "#FTGNR 1010",
        '#VER A 1 20260302 "x"', "{", "#TRANS 1510 {} 1.005", "#TRANS 3010 {} -1.005", "}",
        '#VER A 2 20260302 "y"', "{", "#TRANS 15X0 {} 1.00", "#TRANS 3010 {} -1.00", "}",
        '#VER A 3 20260302 "z"', "{", "#TRANS 1510 {} 1.00", "#TRANS 3010 {} -1.00", "}",
    ]).encode("cp437")
    out = list(get_parser("sie4")(io.BytesIO(text)))
    errors = [e for e in out if isinstance(e, ParseError)]
    assert [(e.line, e.reason.split(":")[0]) for e in errors] == [
        (7, "amount '1.005' has more than two decimals"), (8, "amount '-1.005' has more than two decimals"),
        (5, "voucher A 1 rejected whole"), (12, "account '15X0' is not numeric"), (10, "voucher A 2 rejected whole"),
    ]
    assert [r.event.voucher_number for r in records_of(InvoicePosting, out)] == ["3", "3"]


def test_vouchers_need_sie_type_4() -> None:
    text = b'#FLAGGA 0\n#FORMAT PC8\n#SIETYP 2\n#VER A 1 20260302 "x"\n{\n#TRANS 1510 {} 1\n#TRANS 3010 {} -1\n}\n'
    out = list(get_parser("sie4")(io.BytesIO(text)))
    assert not any(isinstance(r, Record) for r in out)
    assert any("SIE type 4" in e.reason for e in out if isinstance(e, ParseError))


def test_tokens_quotes_and_object_lists() -> None:
    assert tokens('#TRANS 1510 {1 "47 10" 6 "P1"} -1.50 20260302 "Text med \\"citat\\""') == [
        "#TRANS", "1510", ["1", "47 10", "6", "P1"], "-1.50", "20260302", 'Text med "citat"'
    ]


def test_misdeclared_encodings_are_recognised() -> None:
    assert decode("#FORMAT PC8\nÅkeri".encode("cp437")) == ("#FORMAT PC8\nÅkeri", "cp437")
    assert decode("#FORMAT PC8\nÅkeri".encode("iso-8859-15"))[1] == "iso-8859-15"
    assert decode("#FORMAT PC8\nÅkeri".encode())[1] == "utf-8"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/formats is not present")
def test_public_sie4_samples_written_by_others() -> None:
    def run(name: str) -> tuple[list[Record[InvoicePosting]], list[ParseError]]:
        with (SHARED / name).open("rb") as handle:
            out = list(get_parser("sie4")(handle))
        return records_of(InvoicePosting, out), [e for e in out if isinstance(e, ParseError)]

    pc8, errors = run("BLBLOV_SIE4.SE")
    assert errors == [] and len(pc8) > 50 and sum(r.event.amount_ore for r in pc8) == 0
    latin, errors = run("BLBLOV_SIE4_ISO_8859_15.SE")
    assert errors == []
    assert [r.event.text for r in latin] == [r.event.text for r in pc8]
    assert any("å" in (r.event.text or "") for r in pc8)
    small, errors = run("BLBLOV_SIE4.SI")
    assert errors == [] and small[0].event.text == "Försäljning 25% (DF:157)"
    _, errors = run("BLBLOV_SIE4_UTF_8_IMBALANCED.SI")
    assert errors and all("does not balance" in e.reason for e in errors)
