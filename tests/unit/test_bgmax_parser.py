"""BgMax importer: payments in öre per deposit, checked sums and counts, broken deposits/files in dead letters."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from servicepulse.config import Settings, load_settings
from servicepulse.connectors.ingest import ParseError, Record, get_parser
from servicepulse.schemas.events import InvoicePosting
from tests.factories.narrowing import records_of

DATA = Path(__file__).parents[1] / "data" / "finance"
SHARED = Path(__file__).parents[3] / "shared" / "formats" / "bgmax"


def parse_bytes(
    data: bytes, settings: Settings | None = None
) -> tuple[list[Record[InvoicePosting]], list[ParseError]]:
    out = list(get_parser("bgmax", settings)(io.BytesIO(data)))
    return records_of(InvoicePosting, out), [e for e in out if isinstance(e, ParseError)]


def parse_file(name: str, settings: Settings | None = None) -> tuple[list[Record[InvoicePosting]], list[ParseError]]:
    return parse_bytes((DATA / name).read_bytes(), settings)


def test_valid_file_gives_payments_and_deductions_in_ore() -> None:
    settings = load_settings(finance={"bank_companies": {"0005050505": "1040"}})
    records, errors = parse_file("bgmax_valid.txt", settings)
    assert errors == []
    events = [r.event for r in records]
    assert [(e.amount_ore, e.reference) for e in events] == [
        (125000, "400100129"), (20000, "400100293"), (-5000, "KREDIT 4711"), (77777, None)
    ]
    assert [r.line for r in records] == [3, 6, 9, 12]
    assert {e.company for e in events} == {"1040"}
    assert {e.posting_date for e in events} == {date(2026, 3, 13)}
    assert all(e.kind.value == "incoming_payment" and e.account == "1930" and e.source == "bgmax" for e in events)
    assert "referenskod 3" in (events[1].text or "") and "kanal paper" in (events[3].text or "")
    assert len({e.event_id for e in events}) == 4


def test_private_payers_are_never_named() -> None:
    records, _ = parse_file("bgmax_valid.txt")
    # The organisation keeps its name; the private payer (personnummer in record 29) is anonymous.
    assert records[0].event.counterparty_name == "Fastighets AB Vinkeln"
    assert records[0].event.counterparty_id == "005560360793"
    assert records[3].event.counterparty_name is None and records[3].event.counterparty_id is None
    assert all("Åsa" not in (r.event.text or "") for r in records)


def test_unmapped_bankgiro_stands_for_itself() -> None:
    records, _ = parse_file("bgmax_valid.txt")
    assert records[0].event.company == "5050505"


def test_wrong_record_count_rejects_the_file() -> None:
    records, errors = parse_file("bgmax_wrong_count.txt")
    assert records == []
    assert [e.line for e in errors] == [2, 11]
    assert all("end record 70 says 4 payment records, the file has 3" in e.reason for e in errors)
    assert errors[0].raw.startswith(b"050005050505")


def test_deposit_sum_mismatch_rejects_that_deposit_only() -> None:
    records, errors = parse_file("bgmax_bad_deposit_sum.txt")
    assert [r.event.amount_ore for r in records] == [125000, 20000, -5000]
    assert len(errors) == 1 and errors[0].line == 15
    assert "deposit amount 777.00 differs from the payments' sum 777.77" in errors[0].reason


def test_truncated_file_is_rejected() -> None:
    records, errors = parse_file("bgmax_truncated.txt")
    assert records == [] and errors
    assert all("truncated" in e.reason for e in errors)


def test_bad_encoding_rejects_its_deposit() -> None:
    records, errors = parse_file("bgmax_bad_encoding.txt")
    assert [r.event.amount_ore for r in records] == [77777]
    assert len(errors) == 1 and errors[0].line == 4
    assert "bad encoding: control character 0x00 in column 13" in errors[0].reason


def test_record_errors_name_the_record() -> None:
    lines = (DATA / "bgmax_valid.txt").read_bytes().split(b"\r\n")
    lines[2] = lines[2][:37] + b"00000000000012X000" + lines[2][55:]  # amount (columns 38-55) with a letter
    lines.insert(5, b"99" + b" " * 78)  # unknown record type inside the first deposit
    _, errors = parse_bytes(b"\r\n".join(lines))
    # The first error of a deposit rejects it, with that record's number; the second deposit is fine.
    assert [(e.line, e.reason) for e in errors] == [
        (3, "deposit rejected: amount '00000000000012X000' in columns 38-55 is not 18 digits")
    ]


def test_not_a_bgmax_file() -> None:
    records, errors = parse_bytes(b"hello,world\n")
    assert records == [] and errors[0].line == 1


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/formats is not present")
def test_public_bgmax_sample_written_by_others() -> None:
    records, errors = parse_bytes((SHARED / "multipayment.txt").read_bytes())
    assert errors == []
    assert [r.event.amount_ore for r in records] == [10000, 20000, 30000, 10000]
    assert [r.event.reference for r in records] == ["65598", "84629", "39857", "644591"]
    assert {r.event.posting_date for r in records} == {date(2009, 6, 3)}


def test_dead_letter_payloads_carry_no_private_payer() -> None:
    _, errors = parse_file("bgmax_wrong_count.txt")
    raw = b"\n".join(e.raw for e in errors)
    assert "Åsa".encode("latin-1") not in raw and b"198002022380" not in raw and b"Vinkeln" not in raw
    assert b"\n26********\n" in raw  # the record is still there, without its content
