"""`bgmax`: Bankgirot BgMax files (incoming payments) become `incoming_payment` postings, one per payment.

Layout (Bankgirot, BgMax technical manual): 80-character records, ISO 8859-1, amounts in öre.
01 start (layout, version, timestamp, test mark) · 05 deposit opening (receiving bankgiro, currency) ·
20 payment / 21 deduction (sender bankgiro, reference, amount, reference code 0–5, channel 1–4, BGC serial) ·
22/23 extra reference (positive/negative) · 25 information text · 26 name · 27/28 address · 29 organisation
number · 15 deposit (bank account, payment date, serial, amount, currency, payment count) · 70 end (counts of
payments, deductions, extra references, deposits).

Checks: record type and length, digits where digits belong, every deposit's amount = payments − deductions
and its payment count, the end record's four counts. A deposit that fails is rejected whole (its record
number, reason, raw records go to dead letters); if the end record is missing or its counts are wrong the
file is incomplete and every deposit is rejected. Records longer than 80 characters that are valid UTF-8
(a file re-saved by an editor) are read as UTF-8.

Privacy: the payer's name is kept only when record 29 carries an organisation number; a private person's
name and personnummer are dropped here and never reach a topic. In dead letters, records 25-29 (text, name,
address, organisation/personnummer) keep only their type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO

from pydantic import ValidationError

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import InvoicePosting, PostingKind

from . import ParseError, Record
from .ocr import BANK_ACCOUNT, company_for_account, is_organisation_number, payer_name
from .validation import describe

__all__ = ["CHANNELS", "REFERENCE_CODES", "parse"]

REFERENCE_CODES = {
    "0": "blank", "1": "blank", "2": "ocr_checked", "3": "several_references", "4": "reference", "5": "wrong_reference",
}
CHANNELS = {"1": "bank_electronic", "2": "bank_lb", "3": "paper", "4": "autogiro"}
_KNOWN = {"01", "05", "20", "21", "22", "23", "25", "26", "27", "28", "29", "15", "70"}


class _RecordError(ValueError):
    pass


@dataclass
class _Payment:
    record: int
    kind: str
    sender_bankgiro: str
    reference: str
    amount_ore: int
    reference_code: str
    channel: str
    serial: str
    extra_references: list[str] = field(default_factory=list)
    name: str | None = None
    org_number: str | None = None


@dataclass
class _Deposit:
    record: int
    bankgiro: str
    currency: str
    raw: list[bytes] = field(default_factory=list)
    payments: list[_Payment] = field(default_factory=list)
    extra_refs: int = 0
    error: tuple[int, str] | None = None
    payment_date: date | None = None
    serial: str = ""


def _digits(rec: str, start: int, end: int, what: str) -> str:
    """Columns start..end (1-based, inclusive) that must be digits."""
    value = rec[start - 1:end]
    if not value.isdigit():
        raise _RecordError(f"{what} {value.strip()!r} in columns {start}-{end} is not {end - start + 1} digits")
    return value


def _text(rec: str, start: int, end: int) -> str:
    return rec[start - 1:end].strip()


def _decode(raw: bytes) -> str:
    if len(raw) > 80:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    else:
        text = raw.decode("latin-1")
    for col, char in enumerate(text, start=1):
        if ord(char) < 32 or 0x7F <= ord(char) < 0xA0:
            raise _RecordError(f"bad encoding: control character 0x{ord(char):02x} in column {col}")
    if len(text) > 80:
        raise _RecordError(f"record is {len(text)} characters; BgMax records are 80")
    return text.ljust(80)


_PERSONAL = (b"25", b"26", b"27", b"28", b"29")


def _masked(raw: bytes) -> bytes:
    """A record for the dead letters: information text, name, address and organisation/personnummer records
    keep their type but not their content, so a rejected deposit puts no private payer into a table."""
    return raw[:2] + b"*" * 8 if raw[:2] in _PERSONAL else raw


def _payment(rec: str, number: int) -> _Payment:
    kind = rec[:2]
    amount = int(_digits(rec, 38, 55, "amount"))
    code = rec[55]
    if code not in REFERENCE_CODES:
        raise _RecordError(f"reference code {code!r} is not 0-5")
    channel = rec[56]
    if channel not in CHANNELS:
        raise _RecordError(f"channel code {channel!r} is not 1-4")
    return _Payment(number, kind, _digits(rec, 3, 12, "sender bankgiro"), _text(rec, 13, 37),
                    -amount if kind == "21" else amount, code, channel, _text(rec, 58, 69))


def parse(
    stream: IO[bytes], bank_companies: Mapping[str, str] | None = None
) -> Iterator[Record[InvoicePosting] | ParseError]:
    lines = stream.read().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    created: datetime | None = None
    test_file = False
    deposits: list[_Deposit] = []
    current: _Deposit | None = None
    counts = {"20": 0, "21": 0, "22": 0, "15": 0}
    trailer: tuple[int, dict[str, int]] | None = None
    loose: list[ParseError] = []
    for number, raw in enumerate(lines, start=1):
        try:
            rec = _decode(raw)
            kind = rec[:2]
            if kind not in _KNOWN:
                raise _RecordError(f"unknown record type {kind!r}")
            if trailer is not None:
                raise _RecordError("record after the end record (70)")
            if number == 1 and kind != "01":
                raise _RecordError("first record must be the start record 01")
            if kind == "01":
                if number != 1 or _text(rec, 3, 22) != "BGMAX":
                    raise _RecordError("start record 01 must come first and name the layout BGMAX")
                stamp = _digits(rec, 25, 44, "timestamp")
                created = datetime.strptime(stamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=STOCKHOLM)
                test_file = rec[44] == "T"
            elif kind == "05":
                if current is not None:
                    # The open deposit lost its record 15: it is rejected, and this opening record starts the
                    # next deposit, so one damaged record does not take the following deposit with it.
                    if current.error is None:
                        current.error = (number, f"deposit opened in record {current.record} has no deposit "
                                                 "record 15")
                    current = None
                current = _Deposit(number, _digits(rec, 3, 12, "receiving bankgiro"), _text(rec, 23, 25) or "SEK")
                current.raw.append(_masked(raw))
                deposits.append(current)
            elif kind == "70":
                trailer = (number, {k: int(_digits(rec, s, s + 7, "count")) for k, s in
                                    (("20", 3), ("21", 11), ("22", 19), ("15", 27))})
            else:
                if current is None:
                    raise _RecordError(f"record {kind} outside a deposit (no opening record 05)")
                current.raw.append(_masked(raw))
                try:
                    _in_deposit(current, kind, rec, number, counts)
                except _RecordError as exc:
                    if current.error is None:
                        current.error = (number, str(exc))
                if kind == "15":
                    current = None
        except _RecordError as exc:
            if current is not None and current.error is None:
                current.error = (number, str(exc))
                current.raw.append(_masked(raw))
            elif current is None:
                loose.append(ParseError(number, str(exc), _masked(raw)))
        except ValueError as exc:  # a date like 20260230
            loose.append(ParseError(number, f"unreadable record: {exc}", raw))
    yield from loose
    problem = None
    if created is None:
        problem = "no start record 01"
    elif current is not None:
        problem = f"truncated: deposit opened in record {current.record} has no deposit record 15"
    elif trailer is None:
        problem = "truncated: no end record 70"
    else:
        want = trailer[1]
        for key, what in (("20", "payment"), ("21", "deduction"), ("22", "extra reference"), ("15", "deposit")):
            if want[key] != counts[key]:
                problem = f"end record 70 says {want[key]} {what} records, the file has {counts[key]}"
                break
    for deposit in deposits:
        raw = b"\n".join(deposit.raw)
        if problem is not None:
            yield ParseError(deposit.record, f"file rejected, {problem}", raw)
        elif deposit.error is not None:
            yield ParseError(deposit.error[0], f"deposit rejected: {deposit.error[1]}", raw)
        else:
            yield from _postings(deposit, created, test_file, bank_companies)
    if problem is not None and not deposits:
        yield ParseError(trailer[0] if trailer else max(len(lines), 1), f"file rejected, {problem}",
                         b"\n".join(_masked(line) for line in lines[:5]))


def _in_deposit(dep: _Deposit, kind: str, rec: str, number: int, counts: dict[str, int]) -> None:
    if kind in ("20", "21"):
        counts[kind] += 1
        dep.payments.append(_payment(rec, number))
        return
    if kind in ("22", "23"):
        counts["22"] += 1
        dep.extra_refs += 1
        if not dep.payments:
            raise _RecordError(f"extra reference record {kind} before any payment")
        ref = _text(rec, 13, 37)
        if ref:
            dep.payments[-1].extra_references.append(ref)
        return
    if kind in ("25", "26", "27", "28", "29"):
        if not dep.payments:
            raise _RecordError(f"record {kind} before any payment")
        if kind == "26":
            dep.payments[-1].name = _text(rec, 3, 37)
        elif kind == "29":
            dep.payments[-1].org_number = _text(rec, 3, 14)
        return
    if kind == "15":
        counts["15"] += 1
        day = _digits(rec, 38, 45, "payment date")
        try:
            dep.payment_date = date(int(day[:4]), int(day[4:6]), int(day[6:]))
        except ValueError:
            # Raised as a record error, so the deposit still ends here and the next one is read on its own.
            raise _RecordError(f"payment date {day} is not a date") from None
        dep.serial = _digits(rec, 46, 50, "deposit serial number")
        amount = int(_digits(rec, 51, 68, "deposit amount"))
        currency = _text(rec, 69, 71)
        count = int(_digits(rec, 72, 79, "payment count"))
        total = sum(p.amount_ore for p in dep.payments)
        if count != len(dep.payments):
            raise _RecordError(f"deposit record says {count} payments, the deposit has {len(dep.payments)}")
        if amount != total:
            raise _RecordError(f"deposit amount {amount / 100:.2f} differs from the payments' sum {total / 100:.2f}")
        if currency and currency != dep.currency:
            raise _RecordError(f"deposit currency {currency} differs from the opening record's {dep.currency}")


def _postings(
    dep: _Deposit, created: datetime | None, test_file: bool, bank_companies: Mapping[str, str] | None
) -> Iterator[Record[InvoicePosting] | ParseError]:
    assert dep.payment_date is not None and created is not None
    company = company_for_account(dep.bankgiro, bank_companies)
    for idx, pay in enumerate(dep.payments, start=1):
        reference = pay.reference or (pay.extra_references[0] if pay.extra_references else "")
        if pay.reference_code in ("0", "1"):
            reference = ""
        organisation = is_organisation_number(pay.org_number)
        text = (f"BgMax {'avdrag' if pay.kind == '21' else 'betalning'}; referenskod {pay.reference_code} "
                f"({REFERENCE_CODES[pay.reference_code]}); kanal {CHANNELS[pay.channel]}; "
                f"avsändar-bg {pay.sender_bankgiro.lstrip('0') or '-'}; insättning {dep.serial}"
                + (f"; BGC-nr {pay.serial}" if pay.serial else "")
                + ("; TESTFIL" if test_file else ""))
        try:
            event = InvoicePosting(
                event_id=f"bgmax-{dep.bankgiro}-{dep.payment_date:%Y%m%d}-{dep.serial}-{idx}",
                kind=PostingKind.incoming_payment, company=company, account=BANK_ACCOUNT,
                amount_ore=pay.amount_ore, currency=dep.currency, posting_date=dep.payment_date,
                document_date=dep.payment_date,
                counterparty_id=pay.org_number if organisation else None,
                counterparty_name=payer_name(pay.name, pay.org_number),
                reference=reference or None, text=text, recorded_at=created, source="bgmax",
            )
        except ValidationError as exc:
            yield ParseError(pay.record, describe(exc), b"")
            continue
        yield Record(pay.record, event)
