"""`camt054`: ISO 20022 camt.054 (BkToCstmrDbtCdtNtfctn) bank notifications become payment postings.

Every `Ntfctn/Ntry` gives one posting per `NtryDtls/TxDtls` (or one for the entry when it has none): credit
entries (`CRDT`) are `incoming_payment` with a positive amount on the bank account, debit entries (`DBIT`)
`outgoing_payment` with a negative one. Read: `Amt` + currency, `CdtDbtInd`, `BookgDt`, `ValDt`,
`AcctSvcrRef`, `Refs/EndToEndId`, debtor (`RltdPties/Dbtr`, both the `Nm` and `Pty/Nm` forms) and
remittance, structured (`Strd/CdtrRefInf/Ref`) before unstructured (`Ustrd`, kept only in its redacted form:
`servicepulse.domain.personal_data.redact_free_text`). Elements are matched on local
name, so versions .001.02 to .001.08 read alike. The XML parser resolves no entities and fetches nothing.

Checks: well-formed XML (a truncated file is rejected with the parser's line), the right root, amounts
with at most two decimals, transaction amounts summing to their entry, `TxsSummry/TtlNtries/NbOfNtries`
when present. A bad entry is rejected with its line; a malformed file is rejected whole. Dead-letter payloads
carry no names, addresses, free remittance text or private ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, time
from typing import IO

from lxml import etree
from pydantic import ValidationError

from servicepulse.domain.personal_data import redact_free_text
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import InvoicePosting, PostingKind

from . import ParseError, Record
from .ocr import BANK_ACCOUNT, company_for_account, payer_name
from .validation import describe, plain_decimal

__all__ = ["parse"]



class _EntryError(ValueError):
    pass


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str) and etree.QName(c).localname == name]


def _find(el: etree._Element | None, path: str) -> etree._Element | None:
    for name in path.split("/"):
        if el is None:
            return None
        found = _children(el, name)
        el = found[0] if found else None
    return el


def _text(el: etree._Element | None, path: str) -> str | None:
    found = _find(el, path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _amount(el: etree._Element | None, what: str) -> tuple[int, str]:
    text = (el.text or "").strip() if el is not None else ""
    if el is None or not text:
        raise _EntryError(f"{what} is missing")
    value = plain_decimal(text)
    if value is None:
        raise _EntryError(f"{what} {text!r} is not a number")
    ore = value * 100
    if ore != ore.to_integral_value() or value < 0:
        raise _EntryError(f"{what} {text!r} must be positive with at most two decimals")
    return int(ore), (el.get("Ccy") or "").strip()


def _date(el: etree._Element | None, what: str) -> date | None:
    if el is None:
        return None
    text = _text(el, "Dt") or _text(el, "DtTm")
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _EntryError(f"{what} {text!r} is not a date") from None


_PERSONAL = re.compile(rb"<((?:\w+:)?(?:Nm|Ustrd|AdrLine|StrtNm|BldgNb|PstCd|TwnNm|BirthDt|CityOfBirth))>[^<]*</\1>")
_PRIVATE_ID = re.compile(rb"<((?:\w+:)?PrvtId)>.*?</\1>", re.DOTALL)


_CUT_TAIL = re.compile(rb"<((?:\w+:)?(?:Nm|Ustrd|AdrLine|StrtNm|BldgNb|PstCd|TwnNm|BirthDt|CityOfBirth|PrvtId))>"
                       rb"[^<]*$")
_CUT_HEAD = re.compile(rb"^[^<]*(</(?:\w+:)?(?:Nm|Ustrd|AdrLine|StrtNm|BldgNb|PstCd|TwnNm|BirthDt|CityOfBirth)>)")


def _masked(raw: bytes) -> bytes:
    """XML for the dead letters without names, addresses, free remittance text or private ids (also where a
    cut through the file left an element open at either end)."""
    raw = _PRIVATE_ID.sub(rb"<\1>***</\1>", _PERSONAL.sub(rb"<\1>***</\1>", raw))
    return _CUT_HEAD.sub(rb"***\1", _CUT_TAIL.sub(rb"<\1>***", raw))


def parse(
    stream: IO[bytes], bank_companies: Mapping[str, str] | None = None
) -> Iterator[Record[InvoicePosting] | ParseError]:
    data = stream.read()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # libxml2 names the line after the last one for a file cut off at a line end: keep it inside the file.
        line = min(exc.lineno or 1, max(1, len(data.splitlines())))
        yield ParseError(line, f"file rejected, not well-formed XML (truncated?): {exc.msg}", _masked(data[-400:]))
        return
    body = _find(root, "BkToCstmrDbtCdtNtfctn")
    if etree.QName(root).localname != "Document" or body is None:
        yield ParseError(root.sourceline or 1, "file rejected: root is not Document/BkToCstmrDbtCdtNtfctn "
                         "(camt.054)", _masked(data[:400]))
        return
    created_text = _text(body, "GrpHdr/CreDtTm")
    try:
        created = datetime.fromisoformat(created_text) if created_text else None
    except ValueError:
        created = None
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=STOCKHOLM)
    msg_id = _text(body, "GrpHdr/MsgId") or "camt054"
    for ntf in _children(body, "Ntfctn"):
        account = _text(ntf, "Acct/Id/IBAN") or _text(ntf, "Acct/Id/Othr/Id")
        entries = _children(ntf, "Ntry")
        declared = _text(ntf, "TxsSummry/TtlNtries/NbOfNtries")
        if account is None:
            yield ParseError(ntf.sourceline or 1, "notification has no account (Acct/Id/IBAN or Othr/Id)",
                             _masked(etree.tostring(ntf))[:2000])
            continue
        if declared is not None and declared.isdigit() and int(declared) != len(entries):
            yield ParseError(ntf.sourceline or 1, f"notification rejected: TxsSummry says {declared} entries, it "
                             f"has {len(entries)}", _masked(etree.tostring(ntf))[:4000])
            continue
        ntf_id = _text(ntf, "Id") or msg_id
        for n, entry in enumerate(entries, start=1):
            try:
                yield from _entry(entry, account, ntf_id, n, created, bank_companies)
            except _EntryError as exc:
                yield ParseError(entry.sourceline or 1, f"entry {n} rejected: {exc}", _masked(etree.tostring(entry)))


def _entry(entry: etree._Element, account: str, ntf_id: str, n: int, created: datetime | None,
           bank_companies: Mapping[str, str] | None) -> Iterator[Record[InvoicePosting] | ParseError]:
    amount, currency = _amount(_find(entry, "Amt"), "Ntry/Amt")
    indicator = _text(entry, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        raise _EntryError(f"CdtDbtInd {indicator!r} is not CRDT or DBIT")
    booked = _date(_find(entry, "BookgDt"), "BookgDt")
    value = _date(_find(entry, "ValDt"), "ValDt")
    if booked is None:
        raise _EntryError("BookgDt is missing")
    entry_ref = _text(entry, "AcctSvcrRef")
    details = [tx for d in _children(entry, "NtryDtls") for tx in _children(d, "TxDtls")]
    parts: list[tuple[etree._Element | None, int, str]] = []
    if details:
        for detail in details:
            amt = _find(detail, "Amt")
            if amt is None:
                amt = _find(detail, "AmtDtls/TxAmt/Amt")
            parts.append((detail, *(_amount(amt, "TxDtls/Amt") if amt is not None else (amount, currency))))
        if len(details) > 1 and sum(p[1] for p in parts) != amount:
            raise _EntryError(f"transaction amounts sum to {sum(p[1] for p in parts) / 100:.2f}, the entry is "
                              f"{amount / 100:.2f}")
    else:
        parts.append((None, amount, currency))
    sign, kind = (1, PostingKind.incoming_payment) if indicator == "CRDT" else (-1, PostingKind.outgoing_payment)
    company = company_for_account(account, bank_companies)
    recorded = created or datetime.combine(booked, time(12), STOCKHOLM)
    for i, (tx, tx_amount, tx_ccy) in enumerate(parts, start=1):
        end_to_end = _text(tx, "Refs/EndToEndId")
        if end_to_end == "NOTPROVIDED":
            end_to_end = None
        tx_ref = _text(tx, "Refs/AcctSvcrRef") or entry_ref
        # A structured creditor reference is the payee's own; free remittance text is whatever the payer typed
        # (names, personnummer): only its redacted form (references, amounts, bookkeeping words) is kept.
        reference = _text(tx, "RmtInf/Strd/CdtrRefInf/Ref") or redact_free_text(_text(tx, "RmtInf/Ustrd"))
        debtor = _find(tx, "RltdPties/Dbtr")
        name = _text(debtor, "Nm") or _text(debtor, "Pty/Nm")
        org = _text(debtor, "Id/OrgId/Othr/Id") or _text(debtor, "Pty/Id/OrgId/Othr/Id")
        shown = payer_name(name, org)
        text = "; ".join(x for x in (f"camt.054 {indicator}", f"AcctSvcrRef {tx_ref}" if tx_ref else None,
                                     f"EndToEndId {end_to_end}" if end_to_end else None,
                                     f"valuta {value.isoformat()}" if value else None) if x)
        try:
            event = InvoicePosting(
                event_id=f"camt054-{tx_ref or ntf_id + '-' + str(n)}-{i}",
                kind=kind, company=company, account=BANK_ACCOUNT, amount_ore=sign * tx_amount,
                currency=tx_ccy or currency or "SEK", posting_date=booked, document_date=value,
                counterparty_id=org if shown else None, counterparty_name=shown, reference=reference,
                text=text, recorded_at=recorded, source="camt054",
            )
        except ValidationError as exc:
            yield ParseError((tx if tx is not None else entry).sourceline or 1, describe(exc), b"")
            continue
        yield Record((tx if tx is not None else entry).sourceline or 1, event)
