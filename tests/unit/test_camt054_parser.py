"""camt.054 importer: entries and their transactions in öre; malformed XML and bad entries to dead letters."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from servicepulse.config import Settings, load_settings
from servicepulse.connectors.ingest import ParseError, Record, get_parser
from servicepulse.schemas.events import InvoicePosting
from tests.factories.narrowing import records_of

DATA = Path(__file__).parents[1] / "data" / "finance"


def parse_file(name: str, settings: Settings | None = None) -> tuple[list[Record[InvoicePosting]], list[ParseError]]:
    out = list(get_parser("camt054", settings)(io.BytesIO((DATA / name).read_bytes())))
    return records_of(InvoicePosting, out), [e for e in out if isinstance(e, ParseError)]


def test_valid_notification() -> None:
    settings = load_settings(finance={"bank_companies": {"SE45 5000 0000 0583 9825 7466": "1010"}})
    records, errors = parse_file("camt054_valid.xml", settings)
    assert errors == []
    events = [r.event for r in records]
    assert [(e.kind.value, e.amount_ore, e.reference) for e in events] == [
        ("incoming_payment", 125025, "400100129"),  # structured creditor reference wins
        ("incoming_payment", 30000, "faktura mars"),  # unstructured remittance
        ("incoming_payment", 99900, None),  # entry without details
        ("outgoing_payment", -420000, None),
    ]
    assert {e.company for e in events} == {"1010"}
    assert events[0].counterparty_name == "Fastighets AB Vinkeln"
    assert events[1].counterparty_name is None  # a private person is not named
    assert "EndToEndId E2E-VINKELN-0042" in (events[0].text or "")
    assert "EndToEndId" not in (events[1].text or "")  # NOTPROVIDED is no id
    assert events[2].document_date == date(2026, 3, 11) and events[2].posting_date == date(2026, 3, 12)
    assert events[3].posting_date == date(2026, 3, 12)
    assert [r.line for r in records] == [25, 33, 41, 53]
    assert len({e.event_id for e in events}) == 4


def test_truncated_xml_is_rejected_whole() -> None:
    records, errors = parse_file("camt054_truncated.xml")
    assert records == []
    assert len(errors) == 1 and errors[0].line == 39 and "not well-formed XML" in errors[0].reason


def test_bad_encoding_is_rejected_whole() -> None:
    records, errors = parse_file("camt054_bad_encoding.xml")
    assert records == [] and errors[0].line == 36 and "encoding" in errors[0].reason


def test_bad_entries_are_rejected_and_the_rest_arrive() -> None:
    records, errors = parse_file("camt054_bad_entries.xml")
    assert [r.event.amount_ore for r in records] == [-420000]
    assert [(e.line, e.reason) for e in errors] == [
        (16, "entry 1 rejected: transaction amounts sum to 1550.25, the entry is 1550.00"),
        (41, "entry 2 rejected: Ntry/Amt '999,00' is not a number"),
    ]


def test_entry_count_mismatch_rejects_the_notification() -> None:
    records, errors = parse_file("camt054_wrong_count.xml")
    assert records == [] and "TxsSummry says 4 entries, it has 3" in errors[0].reason


def test_other_documents_are_refused() -> None:
    out = list(get_parser("camt054")(io.BytesIO(b"<Document><BkToCstmrStmt/></Document>")))
    assert isinstance(out[0], ParseError) and "camt.054" in out[0].reason


def test_entities_are_not_expanded() -> None:
    xml = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<Document><BkToCstmrDbtCdtNtfctn><Ntfctn><Acct><Id><IBAN>SE1</IBAN></Id></Acct><Ntry>"
           b'<Amt Ccy="SEK">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-03-12</Dt></BookgDt>'
           b"<NtryDtls><TxDtls><RmtInf><Ustrd>&x;</Ustrd></RmtInf></TxDtls></NtryDtls>"
           b"</Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>")
    out = list(get_parser("camt054")(io.BytesIO(xml)))
    records = records_of(InvoicePosting, out)
    assert all("root:" not in (r.event.reference or "") for r in records)


def test_dead_letter_payloads_carry_no_personal_data() -> None:
    # A rejected entry (its transactions do not add up) whose debtor is a private person with a personnummer.
    xml = (DATA / "camt054_bad_entries.xml").read_bytes().replace(
        b"<RltdPties><Dbtr><Nm>M\xc3\xa4rta Sj\xc3\xb6str\xc3\xb6m</Nm></Dbtr></RltdPties>",
        b"<RltdPties><Dbtr><Nm>M\xc3\xa4rta Sj\xc3\xb6str\xc3\xb6m</Nm><Id><PrvtId><Othr><Id>194507121234</Id>"
        b"</Othr></PrvtId></Id></Dbtr></RltdPties>")
    out = list(get_parser("camt054")(io.BytesIO(xml)))
    cut = list(get_parser("camt054")(io.BytesIO(xml[: xml.index(b"Sj\xc3\xb6str") + 4])))
    for error in [e for e in out + cut if isinstance(e, ParseError)]:
        assert "Märta".encode() not in error.raw and b"194507121234" not in error.raw
        assert "Sjö".encode() not in error.raw and b"faktura mars" not in error.raw
    assert any(isinstance(e, ParseError) and b"<Nm>***</Nm>" in e.raw for e in out)
