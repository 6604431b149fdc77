"""PAXml 2.0 importer: a file becomes one run (header, lines, closed totals); bad elements become errors
that name the element and anstid but never a personnummer or name."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from servicepulse.connectors.ingest import ParseError, Record, get_parser
from servicepulse.connectors.ingest.paxml import PaxmlDocument, read_document, read_protected
from servicepulse.schemas.events import PayCategory, PayLine, PayrollRun, PayrollRunKind, PayrollRunStatus
from tests.factories.narrowing import one, only

DATA = Path(__file__).parents[1] / "data" / "payroll"
PERSONAL = ("198507091232", "199001012344", "198807616787", "197512314560", "197512314563", "Anna", "Andersson",
            "Britt", "Skyddsdotter", "Samordnad", "Felnummer", "123 456 789-0", "111222333")


def doc() -> PaxmlDocument:
    with (DATA / "protected.csv").open("rb") as feed:
        protected = read_protected(feed)
    with (DATA / "main-202611.paxml").open("rb") as handle:
        return read_document(handle, protected)


def paxml(body: str, version: str = "2.0") -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><paxml><header><version>{version}</version>'
            f"<foretagid>SF02</foretagid></header>{body}</paxml>").encode()


def slip(anstid: str, period: str, rows: str, paid: str = "1000") -> str:
    return (f'<lonebesked anstid="{anstid}"><periodid>{period}</periodid><betaldatum>2026-11-25</betaldatum>'
            f"<utbetalt>{paid}</utbetalt><lonerader>{rows}</lonerader></lonebesked>")


def test_main_run_header_lines_and_totals() -> None:
    d = doc()
    events = [r.event for r in d.records]
    opened, *rest, closed = events
    assert isinstance(opened, PayrollRun) and isinstance(closed, PayrollRun)
    assert (opened.run_id, opened.kind, opened.status) == ("SF01-2026-11-main", PayrollRunKind.main,
                                                           PayrollRunStatus.opened)
    assert closed.status is PayrollRunStatus.closed and closed.pay_date == date(2026, 11, 25)
    lines = only(PayLine, rest)
    assert [x.line_no for x in lines] == list(range(1, 11)) and closed.line_count == 10
    # Gross by hand: 35,000 + 32,000 kr (travel and per diem are tax-free, not gross).
    assert closed.gross_ore == 6_700_000
    # Net paid by hand: 26,850.00 + 24,100.50 - 1,200 kr.
    assert closed.net_ore == 2_685_000 + 2_410_050 - 120_000
    by_type = {(x.employee_id, x.pay_type): x for x in lines}
    assert by_type[("A000101", "711")].category is PayCategory.per_diem
    assert by_type[("A000101", "711")].unit_price_ore == 30_000
    assert by_type[("A000102", "721")].category is PayCategory.travel
    assert by_type[("A000102", "721")].amount_ore == 10_000  # antal 40 × apris 2.50, no belopp
    assert by_type[("A000103", "81")].category is PayCategory.deduction
    assert by_type[("A000103", "UTBETALT")].amount_ore == -120_000
    assert by_type[("A000102", "91")].amount_ore == -799_950


def test_people_are_validated_and_flagged() -> None:
    d = doc()
    people = {p.employee_id: p for p in d.people}
    assert sorted(people) == ["A000101", "A000102", "A000103"]  # A000104 has a bad check digit
    assert people["A000102"].protected and not people["A000101"].protected
    assert people["A000103"].coordination_number and people["A000103"].birth_date == date(1988, 7, 1)
    assert people["A000103"].employed_to == date(2026, 10, 31)
    assert people["A000101"].personnummer == "198507091232"
    assert "Anna" not in repr(people["A000101"]) and "19850709" not in repr(people["A000101"])
    assert len(d.time_transactions) == 2


def test_errors_never_carry_personal_data() -> None:
    d = doc()
    reasons = sorted(e.reason for e in d.errors)
    assert reasons == ["belopp '12,5x' is not a number", "lonebesked has no anstid attribute",
                       "persnr is not a valid personnummer or coordination number"]
    dump = repr(d.errors) + "".join(repr(r.event.model_dump()) for r in d.records)
    for value in PERSONAL:
        assert value not in dump


def test_registered_parser_yields_errors_and_records() -> None:
    items = list(get_parser("paxml")(io.BytesIO((DATA / "main-202611.paxml").read_bytes())))
    assert sum(isinstance(i, ParseError) for i in items) == 3
    assert sum(isinstance(i, Record) for i in items) == 12


def test_urgent_file_maps_to_an_urgent_run() -> None:
    rows = "<lonrad><lonart>13</lonart><belopp>5000</belopp><lonetyp>BRUTTO</lonetyp></lonrad>"
    d = read_document(io.BytesIO(paxml(f"<loneutbetalning>{slip('A1', '202611-A2', rows, '3500')}"
                                       "</loneutbetalning>")))
    assert d.errors == []
    header = one(PayrollRun, d.records[0].event)
    assert header.run_id == "SF02-2026-11-urgent-A2" and header.kind is PayrollRunKind.urgent


def test_transactions_only_file() -> None:
    body = ('<lonetransaktioner><lonetrans anstid="A7"><lonart>41</lonart><datum>2026-10-07</datum>'
            "<antal>3</antal><apris>400</apris><kontonr>5140</kontonr></lonetrans></lonetransaktioner>")
    d = read_document(io.BytesIO(paxml(body)))
    line = one(PayLine, d.records[1].event)
    assert line.amount_ore == 120_000 and line.quantity == 3 and line.cost_account == "5140"
    assert line.run_id == "SF02-2026-10-main"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<paxml><header>", "not well-formed XML"),
        (paxml("", version="1.2"), "only PAXml 2.x"),
        (b"<other/>", "not 'paxml'"),
        (paxml(""), "no payslips, pay transactions or people"),
        (paxml("<loneutbetalning>" + slip("A1", "202611", "") + slip("A2", "202612", "") + "</loneutbetalning>"),
         "several periods"),
        (paxml("<loneutbetalning>" + slip("A1", "2026-13", "") + "</loneutbetalning>"), "periodid"),
        (paxml("<loneutbetalning>" + slip("A1", "202611", "<lonrad><lonart>1</lonart><belopp>1</belopp>"
                                          "<lonetyp>OKÄND</lonetyp></lonrad>") + "</loneutbetalning>"), "lonetyp"),
        (paxml("<loneutbetalning>" + slip("A1", "202611", "<lonrad><lonart>1</lonart><belopp>1.001</belopp>"
                                          "</lonrad>") + "</loneutbetalning>"), "fractions of an öre"),
    ],
)
def test_bad_files_are_error_values(data: bytes, reason: str) -> None:
    d = read_document(io.BytesIO(data))
    assert d.records == [] or reason in ("periodid", "lonetyp", "fractions of an öre")
    assert any(reason in e.reason for e in d.errors), d.errors


def test_entities_are_not_expanded() -> None:
    evil = (b'<?xml version="1.0"?><!DOCTYPE paxml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + paxml("<loneutbetalning>" + slip("A1", "202611", "<lonrad><lonart>1</lonart><benamning>&x;"
                                               "</benamning><belopp>1</belopp></lonrad>") + "</loneutbetalning>")
            .split(b"?>", 1)[1])
    d = read_document(io.BytesIO(evil))
    assert "root:" not in repr([r.event for r in d.records])


def test_protected_feed_needs_an_anstid_column() -> None:
    with pytest.raises(ValueError, match="anstid"):
        read_protected(io.BytesIO(b"id\nA1\n"))


def test_line_dates() -> None:
    lines = {x.pay_type: x for x in (r.event for r in doc().records) if isinstance(x, PayLine)}
    assert lines["711"].work_date == date(2026, 10, 17) and lines["711"].period_from is None
    assert (lines["721"].work_date, lines["721"].period_from, lines["721"].period_to) == (
        None, date(2026, 9, 1), date(2026, 9, 30))
