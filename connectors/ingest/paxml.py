"""`paxml`: a PAXml 2.0 payroll file becomes one payroll run: its header (opened, closed) and its pay lines.

How a file maps to a run
------------------------
One file is one run. The run id is `<company>-<YYYY-MM>-main` when every payslip's `periodid` is a plain
period (`YYYYMM` or `YYYY-MM`), and `<company>-<YYYY-MM>-urgent-<suffix>` when it carries a suffix
(`202611-A1`, `202611 extra 2`): payroll systems export an urgent (akut) payment as its own period
variant. `<company>` is `header/foretagid`, else `header/foretagorgnr`.

Pay lines come from the payslip results (`loneutbetalning/lonebesked/lonerader/lonrad`): `lonetyp` BRUTTO
is gross (travel or per diem when the pay type's name says so), FÖRMÅN benefit, SKATT/KAPITALSKATT tax,
NETTO a net deduction or addition, PENSION pension paid out; each payslip's `utbetalt` (net paid)
becomes a line of category `net` (pay type `UTBETALT`). A file without payslips (transactions only, sent
before the run is computed) yields one line per `lonetransaktioner/lonetrans` instead. A file with both gives
the registered grain: where an employee's transactions of one pay type and dates add up to the payslip rows
of that pay type and dates (the money paid), the transactions stand in for those rows, so a transaction
registered twice shows as two lines although the payslip printed one row for both; nothing is counted twice,
and transactions the payslips did not pay are counted (`PaxmlDocument.unpaid_transactions`), not published.
`tidtransaktioner` are validated and counted (`read_document`) but not published: they carry no money.

Personal data never leaves this module on a topic: lines carry the anstid only. Master data
(`personal/person`: personnummer, names, bank account, employment dates) is returned by `read_document`
for the restricted table, and a rejected element is reported with its anstid, never its content.
Protected identity (skyddad identitet) is not a PAXml field: it comes from a side feed (`read_protected`,
a CSV with an `anstid` column) or the extension attribute `skyddad="true"` on `person`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any

from lxml import etree
from personnummer import personnummer
from pydantic import ValidationError

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import PayCategory, PayLine, PayrollRun, PayrollRunKind, PayrollRunStatus

from . import ParseError, Record
from .validation import describe, plain_decimal

__all__ = ["Item", "PaxmlDocument", "PersonRecord", "TimeTransaction", "parse", "read_document", "read_protected",
           "stream_document"]

_SOURCE = "paxml"
_PERIOD = re.compile(r"^\s*(\d{4})-?(\d{2})(?:[\s_-]*(.+?))?\s*$")
_CATEGORIES = {
    "BRUTTO": PayCategory.gross,
    "FÖRMÅN": PayCategory.benefit,
    "NETTO": PayCategory.deduction,
    "SKATT": PayCategory.tax,
    "KAPITALSKATT": PayCategory.tax,
    "KAPITAL": PayCategory.other,
    "PENSION": PayCategory.pension,
}
_PARSER_OPTIONS: dict[str, Any] = {"resolve_entities": False, "no_network": True, "huge_tree": True,
                                   "remove_comments": True}
# The elements the streaming passes look at (in any namespace or none); each is cleared once used.
_TAGS = tuple(f"{{*}}{t}" for t in ("header", "personal", "person", "tidtrans", "lonetrans", "lonebesked"))
_PER_DIEM_WORDS = ("traktamente", "per diem")
_TRAVEL_WORDS = ("bilersättning", "milersättning", "resa", "resekostnad", "kilometer")


class _Bad(ValueError):
    pass


@dataclass(frozen=True)
class PersonRecord:
    """One `person`: restricted data. Never log it, never put it on a topic or in `findings`."""

    employee_id: str
    personnummer: str  # normalised YYYYMMDDNNNN
    coordination_number: bool
    first_name: str | None
    last_name: str | None
    birth_date: date
    bank_clearing: str | None
    bank_account: str | None
    employed_from: date | None
    employed_to: date | None
    protected: bool

    def __repr__(self) -> str:  # keeps personal data out of tracebacks and log lines
        return f"PersonRecord(employee_id={self.employee_id!r}, protected={self.protected})"


@dataclass(frozen=True)
class TimeTransaction:
    employee_id: str
    code: str
    day: date | None
    hours: Decimal | None


@dataclass
class PaxmlDocument:
    """Everything read from one file: the run's events, master data, time transactions and errors."""

    company: str = ""
    org_number: str | None = None
    records: list[Record[PayrollRun | PayLine]] = field(default_factory=list)
    people: list[PersonRecord] = field(default_factory=list)
    time_transactions: list[TimeTransaction] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    # header/datum: when the payroll system wrote the file (a bank account first seen here changed by then).
    exported_on: date | None = None
    has_personal: bool = False
    transactions: int = 0
    unpaid_transactions: int = 0


Item = Record[PayrollRun | PayLine] | ParseError | PersonRecord | TimeTransaction


def parse(stream: IO[bytes]) -> Iterator[Record[PayrollRun | PayLine] | ParseError]:
    """Run header (opened), pay lines, run header (closed) with totals; an error value per bad element."""
    for item in stream_document(stream):
        if isinstance(item, Record | ParseError):
            yield item


def read_document(stream: IO[bytes], protected: set[str] | frozenset[str] = frozenset(),
                  customer: str | None = None) -> PaxmlDocument:
    """Read one PAXml 2.0 file; never raises on bad content: errors are values in `errors`."""
    doc = PaxmlDocument()
    for item in stream_document(stream, protected, customer, doc):
        if isinstance(item, Record):
            doc.records.append(item)
        elif isinstance(item, ParseError):
            doc.errors.append(item)
        elif isinstance(item, PersonRecord):
            doc.people.append(item)
        else:
            doc.time_transactions.append(item)
    return doc


def stream_document(stream: IO[bytes], protected: set[str] | frozenset[str] = frozenset(),
                    customer: str | None = None, doc: PaxmlDocument | None = None) -> Iterator[Item]:
    """One PAXml file as it is read: people, time transactions, errors and, in the file's order, the run's
    opened header and pay lines; the closed header with its totals last. Memory stays flat in the file size:
    each `lonebesked`, `lonetrans`, `person` is cleared once used. `doc`, when given, gets the file's header
    fields and counts (complete once the iterator is exhausted); its lists are left to the caller.

    A survey pass first reads the header, each payslip's period and pay date and how many transactions each
    employee has, so the run id and pay date are known before the first line. A file whose run is only known
    once everything is read (not well-formed, a bad header, several periods or pay dates) is read whole, as
    one tree. Registered transactions are read by a second cursor over the same file, one employee's at a time
    when the transactions come in the payslips' order of employees (an export's order); otherwise it buffers
    the transactions of the employees it passes until their payslip comes."""
    doc = doc if doc is not None else PaxmlDocument()
    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    start = stream.tell()
    survey = _survey(_Reader(stream, start))
    if survey is None:
        stream.seek(start)
        whole = _read_whole(stream.read(), protected, customer)
        for name in ("company", "org_number", "exported_on", "has_personal", "transactions", "unpaid_transactions"):
            setattr(doc, name, getattr(whole, name))
        yield from whole.people
        yield from whole.time_transactions
        yield from whole.errors
        yield from whole.records
        return
    yield from _stream(stream, start, survey, doc, set(protected), customer)


def read_protected(stream: IO[bytes]) -> set[str]:
    """Anstid of protected persons from the side feed: a CSV with a header row holding an `anstid` column."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    if reader.fieldnames is None or "anstid" not in [f.strip().lower() for f in reader.fieldnames]:
        raise ValueError("protected-identity feed needs a header row with an 'anstid' column")
    column = next(f for f in reader.fieldnames if f.strip().lower() == "anstid")
    return {row[column].strip() for row in reader if (row.get(column) or "").strip()}


# --------------------------------------------------------------------------- reading


# An element, or its children's texts by local name (`_fields`): one pass over the children instead of a
# `find` per field, and no namespace to strip first (measured: the finds were a fifth of the ingest's time).
_Source = etree._Element | dict[str, str | None]


def _fields(el: etree._Element) -> dict[str, str | None]:
    """The stripped text (None when empty) of each child by its local name; the first child of a name counts,
    as with `find`."""
    out: dict[str, str | None] = {}
    for child in el:
        tag = child.tag
        if isinstance(tag, str):
            name = tag.rpartition("}")[2]
            if name not in out:
                text = child.text
                out[name] = (text.strip() or None) if text is not None else None
    return out


def _children(el: etree._Element, section: str, name: str) -> Iterator[etree._Element]:
    """`el.iterfind(f"{section}/{name}")` in any namespace or none."""
    for outer in el:
        if isinstance(outer.tag, str) and outer.tag.rpartition("}")[2] == section:
            for inner in outer:
                if isinstance(inner.tag, str) and inner.tag.rpartition("}")[2] == name:
                    yield inner


def _text(el: _Source | None, name: str) -> str | None:
    if el is None:
        return None
    if isinstance(el, dict):
        return el.get(name)
    child = el.find(name)
    if child is None or child.text is None:
        return None
    value = child.text.strip()
    return value or None


def _date(el: _Source, name: str) -> date | None:
    value = _text(el, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _Bad(f"{name} {value!r} is not a date") from None


def _decimal(el: _Source, name: str) -> Decimal | None:
    value = _text(el, name)
    if value is None:
        return None
    number = plain_decimal(value.replace(",", ".").replace(" ", ""))
    if number is None:
        raise _Bad(f"{name} {value!r} is not a number")
    return number


def _ore(value: Decimal | None) -> int | None:
    if value is None:
        return None
    ore = value * 100
    if ore != ore.to_integral_value():
        raise _Bad(f"amount {value} has fractions of an öre")
    return int(ore)


def _category(lonetyp: str | None, name: str | None) -> PayCategory:
    kind = (lonetyp or "BRUTTO").strip().upper()
    if kind not in _CATEGORIES:
        raise _Bad(f"lonetyp {lonetyp!r} is not one of {', '.join(_CATEGORIES)}")
    category = _CATEGORIES[kind]
    if category is PayCategory.gross and name:
        lowered = name.lower()
        if any(w in lowered for w in _PER_DIEM_WORDS):
            return PayCategory.per_diem
        if any(w in lowered for w in _TRAVEL_WORDS):
            return PayCategory.travel
    return category


def _anstid(el: etree._Element) -> str:
    value = (el.get("anstid") or "").strip()
    if not value:
        # Rows keyed only by personnummer are refused: the pipeline keys people by anstid, never persnr.
        raise _Bad(f"{etree.QName(el).localname} has no anstid attribute")
    return value


def _error(el: etree._Element, reason: str) -> ParseError:
    # The raw payload names the element and its anstid only: never personnummer, names or accounts.
    tag = etree.QName(el).localname
    return ParseError(el.sourceline or 0, reason, f"<{tag} anstid={el.get('anstid') or '?'!r}>".encode())


def _period(value: str) -> tuple[str, str | None]:
    match = _PERIOD.match(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise _Bad(f"periodid {value!r} is not YYYYMM or YYYY-MM")
    suffix = match.group(3)
    return f"{match.group(1)}-{match.group(2)}", re.sub(r"[^0-9A-Za-z]+", "-", suffix) if suffix else None


def _person(el: etree._Element, protected: set[str]) -> PersonRecord:
    employee_id = _anstid(el)
    raw = (el.get("persnr") or "").strip()
    if not raw:
        raise _Bad("person has no persnr")
    try:
        pnr = personnummer.Personnummer(raw)
    except Exception:
        raise _Bad("persnr is not a valid personnummer or coordination number") from None
    birth = pnr.get_date()
    clearing, account = _text(el, "bankclearing"), _text(el, "bankkonto")
    start, end = _date(el, "anstdatum"), _date(el, "avgdatum")
    if start and end and end < start:
        raise _Bad("avgdatum is before anstdatum")
    flag = (el.get("skyddad") or "").strip().lower() in ("1", "true", "ja", "yes")
    return PersonRecord(
        employee_id=employee_id,
        personnummer=pnr.format(long_format=True),
        coordination_number=pnr.is_coordination_number(),
        first_name=_text(el, "fornamn"),
        last_name=_text(el, "efternamn"),
        birth_date=birth.date() if isinstance(birth, datetime) else birth,
        bank_clearing=clearing,
        bank_account=account,
        employed_from=start,
        employed_to=end,
        protected=flag or employee_id in protected,
    )


@dataclass
class _Pending:
    employee_id: str
    pay_type: str
    name: str | None
    category: PayCategory
    quantity: Decimal | None
    unit_price_ore: int | None
    amount_ore: int
    work_date: date | None
    period_from: date | None
    period_to: date | None
    account: str | None
    period: str
    suffix: str | None
    pay_date: date | None
    sourceline: int


def _row(row: etree._Element, employee_id: str, period: str, suffix: str | None, pay_date: date | None,
         is_trans: bool) -> _Pending:
    el = _fields(row)
    pay_type = _text(el, "lonart") or _text(el, "lonkod")
    if pay_type is None:
        raise _Bad("pay line has no lonart")
    name = _text(el, "benamning")
    quantity, price = _decimal(el, "antal"), _decimal(el, "apris")
    amount = _decimal(el, "belopp")
    if amount is None:
        if quantity is None or price is None:
            raise _Bad("pay line has no belopp and no antal × apris")
        # antal × apris is rounded to the öre as the payroll system does; a given belopp must be exact.
        amount = (quantity * price).quantize(Decimal("0.01"))
    if quantity is not None:
        quantity = quantity.quantize(Decimal("0.0001"))
    category = _category(None if is_trans else _text(el, "lonetyp"), name)
    work, start, end = _date(el, "datum"), _date(el, "datumfrom"), _date(el, "datumtom")
    if start and end and end < start:
        raise _Bad("datumtom is before datumfrom")
    if work is None and start is not None and start == end:
        work, start, end = start, None, None  # a one-day line (lonrad has no `datum`): the day worked or travelled
    return _Pending(employee_id, pay_type, name, category, quantity, _ore(price), _ore(amount) or 0, work, start,
                    end, _text(el, "kontonr"), period, suffix, pay_date, row.sourceline or 0)


def _read_whole(data: bytes, protected: set[str] | frozenset[str], customer: str | None) -> PaxmlDocument:
    """The whole document in one tree: the path for a file the survey cannot stream exactly (not well-formed, a
    bad header, several periods or pay dates, which reject or reshape the run only once everything is read)."""
    doc = PaxmlDocument()
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # libxml2 names the line after the last one for a file cut off at a line end: keep it inside the file.
        line = min(exc.lineno or 1, max(1, len(data.splitlines())))
        doc.errors.append(ParseError(line, f"not well-formed XML: {exc.msg}", b""))
        return doc
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = etree.QName(el).localname  # PAXml files come with and without a namespace
    if root.tag != "paxml":
        doc.errors.append(ParseError(root.sourceline or 0, f"root element is {root.tag!r}, not 'paxml'", b""))
        return doc
    header = root.find("header")
    version = _text(header, "version")
    if header is None or version is None or not version.startswith("2."):
        doc.errors.append(ParseError(getattr(header, "sourceline", 0) or 0,
                                     f"header/version is {version!r}; only PAXml 2.x is read", b""))
        return doc
    doc.org_number = _text(header, "foretagorgnr")
    if doc.org_number is not None and not re.fullmatch(r"\d{6}-?\d{4}|\d{12}", doc.org_number):
        doc.errors.append(ParseError(header.sourceline or 0, f"foretagorgnr {doc.org_number!r} is not an org number",
                                     b""))
        return doc
    doc.company = customer or _text(header, "foretagid") or doc.org_number or ""
    if not doc.company:
        doc.errors.append(ParseError(header.sourceline or 0, "header has neither foretagid nor foretagorgnr", b""))
        return doc
    created = _text(header, "datum")
    try:
        doc.exported_on = date.fromisoformat(created[:10]) if created else None
    except ValueError:
        doc.exported_on = None
    doc.has_personal = root.find("personal") is not None

    for el in root.iterfind("personal/person"):
        try:
            doc.people.append(_person(el, set(protected)))
        except _Bad as exc:
            doc.errors.append(_error(el, str(exc)))
    for el in root.iterfind("tidtransaktioner/tidtrans"):
        try:
            doc.time_transactions.append(TimeTransaction(_anstid(el), _text(el, "tidkod") or "",
                                                         _date(el, "datum"), _decimal(el, "timmar")))
        except _Bad as exc:
            doc.errors.append(_error(el, str(exc)))

    pending: list[_Pending] = []
    slips = root.findall("loneutbetalning/lonebesked")
    registered: dict[str, list[etree._Element]] = {}
    for el in root.iterfind("lonetransaktioner/lonetrans"):
        doc.transactions += 1
        registered.setdefault((el.get("anstid") or "").strip(), []).append(el)
    for slip in slips:
        try:
            employee_id = _anstid(slip)
            period, suffix = _period(_text(slip, "periodid") or "")
            pay_date = _date(slip, "betaldatum")
            if pay_date is None:
                raise _Bad("lonebesked has no betaldatum")
            rows = [_row(r, employee_id, period, suffix, pay_date, False) for r in slip.iterfind("lonerader/lonrad")]
            rows = _with_transactions(doc, rows, registered.pop(employee_id, []), period, suffix, pay_date)
            paid = _ore(_decimal(slip, "utbetalt"))
            if paid is not None:
                rows.append(_Pending(employee_id, "UTBETALT", "Utbetalt netto", PayCategory.net, None, None, paid,
                                     None, None, None, None, period, suffix, pay_date, slip.sourceline or 0))
            pending.extend(rows)
        except _Bad as exc:
            doc.errors.append(_error(slip, str(exc)))
    if slips:
        doc.unpaid_transactions += sum(len(els) for els in registered.values())
    else:
        for el in root.iterfind("lonetransaktioner/lonetrans"):
            try:
                work = _date(el, "datum")
                period = f"{work:%Y-%m}" if work else (created or "")[:7]
                pending.append(_row(el, _anstid(el), period, None, None, True))
            except _Bad as exc:
                doc.errors.append(_error(el, str(exc)))
    if not pending:
        if not doc.errors and not doc.people:
            # A master-data file (people only) is fine for `controls people`; nothing at all is not.
            doc.errors.append(ParseError(root.sourceline or 0, "file has no payslips, pay transactions or people",
                                         b""))
        return doc
    _build_run(doc, pending, created)
    return doc


def _with_transactions(doc: PaxmlDocument, rows: list[_Pending], transactions: list[etree._Element], period: str,
                       suffix: str | None, pay_date: date | None) -> list[_Pending]:
    """The payslip's rows with registered transactions standing in for the rows they add up to (same pay type
    and dates, same total): the money is the payslip's, the grain the registration's."""
    if not transactions:
        return rows
    parsed: list[_Pending] = []
    for el in transactions:
        try:
            parsed.append(_row(el, _anstid(el), period, suffix, pay_date, True))
        except _Bad as exc:
            doc.errors.append(_error(el, str(exc)))
    out, unplaced = _merge(rows, parsed)
    doc.unpaid_transactions += unplaced
    return out


def _merge(rows: list[_Pending], transactions: list[_Pending]) -> tuple[list[_Pending], int]:
    """`rows` with `transactions` standing in where they add up; and how many transactions were not placed."""
    if not transactions:
        return rows, 0
    by_key: dict[tuple[object, ...], list[_Pending]] = {}
    for t in transactions:
        by_key.setdefault((t.pay_type, t.work_date, t.period_from, t.period_to), []).append(t)
    slip_keys: dict[tuple[object, ...], list[_Pending]] = {}
    for r in rows:
        if r.category not in (PayCategory.tax, PayCategory.pension, PayCategory.net):
            slip_keys.setdefault((r.pay_type, r.work_date, r.period_from, r.period_to), []).append(r)
    out: list[_Pending] = []
    placed: set[tuple[object, ...]] = set()
    for r in rows:
        key = (r.pay_type, r.work_date, r.period_from, r.period_to)
        found = by_key.get(key)
        if found is None or key not in slip_keys or sum(t.amount_ore for t in found) != sum(
                x.amount_ore for x in slip_keys[key]):
            out.append(r)
            continue
        if key not in placed:
            placed.add(key)
            # The payslip's category (lonetyp) is the system's word on what the line is; a transaction has none.
            out.extend(replace(t, category=r.category, name=t.name or r.name) for t in found)
    return out, sum(len(ts) for key, ts in by_key.items() if key not in placed)


def _build_run(doc: PaxmlDocument, pending: list[_Pending], created: str | None) -> None:
    keys = {(p.period, p.suffix) for p in pending}
    if len(keys) > 1:
        doc.errors.append(ParseError(pending[0].sourceline, "payslips of several periods in one file: "
                                     + ", ".join(sorted(f"{a}{'-' + b if b else ''}" for a, b in keys)), b""))
        return
    period, suffix = keys.pop()
    pay_dates = [p.pay_date for p in pending if p.pay_date is not None]
    run = _Run(doc.company, period, suffix, max(pay_dates) if pay_dates else None, created)
    lines: list[Record[PayrollRun | PayLine]] = []
    gross = net = 0
    for number, p in enumerate(pending, start=1):
        try:
            event = run.line(number, p)
        except ValidationError as exc:
            doc.errors.append(ParseError(p.sourceline, describe(exc), f"<lonrad anstid={p.employee_id!r}>".encode()))
            continue
        gross += event.amount_ore if event.category is PayCategory.gross else 0
        net += event.amount_ore if event.category is PayCategory.net else 0
        lines.append(Record(p.sourceline, event))
    run_id = run.run_id
    try:
        opened, closed = run.opened(), run.closed(len(lines), gross, net)
    except ValidationError as exc:
        # Lines without their run header would never be checked: the run is rejected whole.
        doc.errors.append(ParseError(pending[0].sourceline, f"payroll run {run_id} rejected whole: {describe(exc)}",
                                     b""))
        return
    doc.records = [Record(0, opened), *lines, Record(0, closed)]


class _Run:
    """The run a file's pay lines belong to: its id, kind, pay date and the time stamped on every event."""

    def __init__(self, company: str, period: str, suffix: str | None, pay_date: date | None,
                 created: str | None) -> None:
        self.company, self.period = company, period
        self.kind = PayrollRunKind.urgent if suffix else PayrollRunKind.main
        self.run_id = f"{company}-{period}-main" if suffix is None else f"{company}-{period}-urgent-{suffix}"
        self.pay_date = pay_date or date.fromisoformat(f"{period}-25")
        try:
            at = datetime.fromisoformat(created) if created else datetime.combine(self.pay_date, time(6), STOCKHOLM)
        except ValueError:
            at = datetime.combine(self.pay_date, time(6), STOCKHOLM)
        self.at = at if at.tzinfo is not None else at.replace(tzinfo=STOCKHOLM)

    def line(self, number: int, p: _Pending) -> PayLine:
        return PayLine(
            event_id=f"{self.run_id}:{number}", run_id=self.run_id, line_no=number, employee_id=p.employee_id,
            customer=self.company, pay_type=p.pay_type, pay_type_name=p.name, category=p.category,
            quantity=p.quantity, unit_price_ore=p.unit_price_ore, amount_ore=p.amount_ore,
            work_date=p.work_date, period_from=p.period_from, period_to=p.period_to, cost_account=p.account,
            occurred_at=self.at, source=_SOURCE,
        )

    def _header(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "kind": self.kind, "customer": self.company, "period": self.period,
                "pay_date": self.pay_date, "source": _SOURCE,
                "payment_channel": "bank file" if self.kind is PayrollRunKind.main else None}

    def opened(self) -> PayrollRun:
        return PayrollRun(event_id=f"{self.run_id}:opened", status=PayrollRunStatus.opened, occurred_at=self.at,
                          **self._header())

    def closed(self, line_count: int, gross: int, net: int) -> PayrollRun:
        return PayrollRun(event_id=f"{self.run_id}:closed", status=PayrollRunStatus.closed, occurred_at=self.at,
                          line_count=line_count, gross_ore=gross, net_ore=net, **self._header())


# --------------------------------------------------------------------------- streaming


class _Reader:
    """A read position of its own over a shared seekable handle: two cursors read one file independently."""

    def __init__(self, handle: IO[bytes], position: int) -> None:
        self._handle, self._position = handle, position

    def read(self, size: int = -1) -> bytes:
        self._handle.seek(self._position)
        data = self._handle.read(size)
        self._position += len(data)
        return data


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


# Read through `_fields` and `_children`, which ignore namespaces: nothing to strip.
_BY_FIELDS = frozenset({"loneutbetalning/lonebesked", "lonetransaktioner/lonetrans"})


def _walk(source: _Reader, namespaced: bool) -> Iterator[tuple[str, etree._Element]]:
    """(section/element, element) of the root's sections' children and (`header`|`personal`, element) of the
    root's children, in document order; each element (with the ones before it) is cleared once the consumer
    resumes, so the tree never holds more than the current element."""
    for _, el in etree.iterparse(source, events=("end",), tag=_TAGS, **_PARSER_OPTIONS):
        parent = el.getparent()
        grand = parent.getparent() if parent is not None else None
        if parent is not None and grand is None:
            where: str | None = _local(el.tag)
        elif grand is not None and grand.getparent() is None:
            where = f"{_local(parent.tag)}/{_local(el.tag)}"
        else:
            where = None
        if where is not None:
            if where not in _BY_FIELDS and (namespaced or "}" in el.tag):
                for child in el.iter():
                    if isinstance(child.tag, str) and "}" in child.tag:
                        child.tag = _local(child.tag)
            yield where, el
        el.clear(keep_tail=True)
        if parent is not None:
            while el.getprevious() is not None:
                del parent[0]


@dataclass
class _Survey:
    root_line: int = 0
    namespaced: bool = False
    company: str = ""
    org_number: str | None = None
    created: str | None = None
    has_personal: bool = False
    slips: int = 0
    keys: set[tuple[str, str | None]] = field(default_factory=set)
    pay_dates: set[date] = field(default_factory=set)
    transaction_keys: set[tuple[str, str | None]] = field(default_factory=set)
    per_employee: dict[str, int] = field(default_factory=dict)
    transactions: int = 0


def _survey(source: _Reader) -> _Survey | None:
    """The run's shape from a first pass, or None when the file must be read whole to be read exactly."""
    survey = _Survey()
    header: dict[str, str | None] | None = None
    root: etree._Element | None = None
    try:
        for where, el in _walk(source, False):
            if root is None:
                root = el.getroottree().getroot()
                survey.root_line = root.sourceline or 0
                survey.namespaced = "}" in str(root.tag)
                if _local(str(root.tag)) != "paxml":
                    return None
            if where == "header":
                if header is None:
                    header = {n: _text(el, n) for n in ("version", "foretagorgnr", "foretagid", "datum")}
            elif where == "personal":
                survey.has_personal = True
            elif where == "loneutbetalning/lonebesked":
                survey.slips += 1
                try:
                    _anstid(el)
                    fields = _fields(el)
                    key = _period(_text(fields, "periodid") or "")
                    pay_date = _date(fields, "betaldatum")
                except _Bad:
                    continue
                if pay_date is not None:
                    survey.keys.add(key)
                    survey.pay_dates.add(pay_date)
            elif where == "lonetransaktioner/lonetrans":
                survey.transactions += 1
                employee = (el.get("anstid") or "").strip()
                survey.per_employee[employee] = survey.per_employee.get(employee, 0) + 1
                try:
                    work = _date(_fields(el), "datum")
                except _Bad:
                    continue
                survey.transaction_keys.add((f"{work:%Y-%m}" if work else "", None))
    except etree.XMLSyntaxError:
        return None
    if root is None or header is None:
        return None
    version, survey.org_number = header["version"], header["foretagorgnr"]
    if version is None or not version.startswith("2."):
        return None
    if survey.org_number is not None and not re.fullmatch(r"\d{6}-?\d{4}|\d{12}", survey.org_number):
        return None
    survey.company = header["foretagid"] or survey.org_number or ""
    survey.created = header["datum"]
    if not survey.slips:
        # Transactions only: a line without a date belongs to the month of the file's date.
        survey.keys = {(k or (survey.created or "")[:7], s) for k, s in survey.transaction_keys}
    if len(survey.keys) > 1 or len(survey.pay_dates) > 1:
        return None
    return survey


class _Registered:
    """The registered transactions of each employee, read by a cursor of its own as the payslips ask for them."""

    def __init__(self, source: _Reader, survey: _Survey, period: str, suffix: str | None,
                 pay_date: date | None) -> None:
        self._walk = _walk(source, survey.namespaced)
        self._left = dict(survey.per_employee)
        self._buffer: dict[str, list[_Pending | ParseError]] = {}
        self._run = (period, suffix, pay_date)
        self.taken = 0

    def take(self, employee_id: str) -> list[_Pending | ParseError]:
        """All of the employee's transactions (parsed, or the error that refused one); none the second time."""
        want = self._left.pop(employee_id, 0)
        found = self._buffer.pop(employee_id, [])
        while len(found) < want:
            where, el = next(self._walk)
            if where != "lonetransaktioner/lonetrans":
                continue
            anstid = (el.get("anstid") or "").strip()
            try:
                item: _Pending | ParseError = _row(el, _anstid(el), *self._run, True)
            except _Bad as exc:
                item = _error(el, str(exc))
            (found if anstid == employee_id else self._buffer.setdefault(anstid, [])).append(item)
        self.taken += len(found)
        return found


def _stream(stream: IO[bytes], start: int, survey: _Survey, doc: PaxmlDocument, protected: set[str],
            customer: str | None) -> Iterator[Item]:
    doc.company, doc.org_number, doc.has_personal = customer or survey.company, survey.org_number, survey.has_personal
    doc.transactions = survey.transactions
    created = survey.created
    try:
        doc.exported_on = date.fromisoformat(created[:10]) if created else None
    except ValueError:
        doc.exported_on = None
    period, suffix = next(iter(survey.keys)) if survey.keys else ("", None)
    pay_date = next(iter(survey.pay_dates)) if survey.pay_dates else None
    registered = (_Registered(_Reader(stream, start), survey, period, suffix, pay_date)
                  if survey.slips and survey.transactions else None)
    run: _Run | None = None
    rejected = False
    number = lines = gross = net = 0
    people = errors = 0
    for where, el in _walk(_Reader(stream, start), survey.namespaced):
        pending: list[_Pending] = []
        try:
            if where == "personal/person":
                yield _person(el, protected)
                people += 1
            elif where == "tidtransaktioner/tidtrans":
                yield TimeTransaction(_anstid(el), _text(el, "tidkod") or "", _date(el, "datum"),
                                      _decimal(el, "timmar"))
            elif where == "loneutbetalning/lonebesked":
                employee_id = _anstid(el)
                fields = _fields(el)
                slip_period, slip_suffix = _period(_text(fields, "periodid") or "")
                slip_date = _date(fields, "betaldatum")
                if slip_date is None:
                    raise _Bad("lonebesked has no betaldatum")
                rows = [_row(r, employee_id, slip_period, slip_suffix, slip_date, False)
                        for r in _children(el, "lonerader", "lonrad")]
                if registered is not None:
                    parsed: list[_Pending] = []
                    for item in registered.take(employee_id):
                        if isinstance(item, ParseError):
                            errors += 1
                            yield item
                        else:
                            parsed.append(item)
                    rows, unplaced = _merge(rows, parsed)
                    doc.unpaid_transactions += unplaced
                paid = _ore(_decimal(fields, "utbetalt"))
                if paid is not None:
                    rows.append(_Pending(employee_id, "UTBETALT", "Utbetalt netto", PayCategory.net, None, None,
                                         paid, None, None, None, None, slip_period, slip_suffix, slip_date,
                                         el.sourceline or 0))
                pending = rows
            elif where == "lonetransaktioner/lonetrans" and not survey.slips:
                work = _date(_fields(el), "datum")
                pending = [_row(el, _anstid(el), f"{work:%Y-%m}" if work else (created or "")[:7], None, None, True)]
        except _Bad as exc:
            errors += 1
            yield _error(el, str(exc))
            continue
        for p in pending:
            if run is None:
                run = _Run(doc.company, period, suffix, pay_date, created)
                try:
                    opened = run.opened()
                    run.closed(0, 0, 0)
                except ValidationError as exc:
                    # Lines without their run header would never be checked: the run is rejected whole.
                    rejected = True
                    errors += 1
                    yield ParseError(p.sourceline, f"payroll run {run.run_id} rejected whole: {describe(exc)}", b"")
                else:
                    yield Record(0, opened)
            number += 1
            try:
                event = run.line(number, p)
            except ValidationError as exc:
                errors += 1
                yield ParseError(p.sourceline, describe(exc), f"<lonrad anstid={p.employee_id!r}>".encode())
                continue
            if rejected:
                continue
            lines += 1
            gross += event.amount_ore if event.category is PayCategory.gross else 0
            net += event.amount_ore if event.category is PayCategory.net else 0
            yield Record(p.sourceline, event)
    if registered is not None:
        doc.unpaid_transactions += survey.transactions - registered.taken
    if run is None:
        if not errors and not people:
            # A master-data file (people only) is fine for `controls people`; nothing at all is not.
            yield ParseError(survey.root_line, "file has no payslips, pay transactions or people", b"")
    elif not rejected:
        yield Record(0, run.closed(lines, gross, net))
