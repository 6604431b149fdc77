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
from typing import IO

from lxml import etree
from personnummer import personnummer
from pydantic import ValidationError

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import PayCategory, PayLine, PayrollRun, PayrollRunKind, PayrollRunStatus

from . import ParseError, Record
from .validation import describe, plain_decimal

__all__ = ["PaxmlDocument", "PersonRecord", "TimeTransaction", "parse", "read_document", "read_protected"]

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


def parse(stream: IO[bytes]) -> Iterator[Record[PayrollRun | PayLine] | ParseError]:
    """Run header (opened), pay lines, run header (closed) with totals; an error value per bad element."""
    doc = read_document(stream)
    yield from doc.errors
    yield from doc.records


def read_protected(stream: IO[bytes]) -> set[str]:
    """Anstid of protected persons from the side feed: a CSV with a header row holding an `anstid` column."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.DictReader(text)
    if reader.fieldnames is None or "anstid" not in [f.strip().lower() for f in reader.fieldnames]:
        raise ValueError("protected-identity feed needs a header row with an 'anstid' column")
    column = next(f for f in reader.fieldnames if f.strip().lower() == "anstid")
    return {row[column].strip() for row in reader if (row.get(column) or "").strip()}


# --------------------------------------------------------------------------- reading


def _text(el: etree._Element | None, name: str) -> str | None:
    if el is None:
        return None
    child = el.find(name)
    if child is None or child.text is None:
        return None
    value = child.text.strip()
    return value or None


def _date(el: etree._Element, name: str) -> date | None:
    value = _text(el, name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise _Bad(f"{name} {value!r} is not a date") from None


def _decimal(el: etree._Element, name: str) -> Decimal | None:
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


def _row(el: etree._Element, employee_id: str, period: str, suffix: str | None, pay_date: date | None,
         is_trans: bool) -> _Pending:
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
                    end, _text(el, "kontonr"), period, suffix, pay_date, el.sourceline or 0)


def read_document(stream: IO[bytes], protected: set[str] | frozenset[str] = frozenset(),
                  customer: str | None = None) -> PaxmlDocument:
    """Read one PAXml 2.0 file; never raises on bad content: errors are values in `errors`."""
    doc = PaxmlDocument()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)
    data = stream.read()
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
    by_key: dict[tuple[object, ...], list[_Pending]] = {}
    for el in transactions:
        try:
            t = _row(el, _anstid(el), period, suffix, pay_date, True)
        except _Bad as exc:
            doc.errors.append(_error(el, str(exc)))
            continue
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
    doc.unpaid_transactions += sum(len(ts) for key, ts in by_key.items() if key not in placed)
    return out


def _build_run(doc: PaxmlDocument, pending: list[_Pending], created: str | None) -> None:
    keys = {(p.period, p.suffix) for p in pending}
    if len(keys) > 1:
        doc.errors.append(ParseError(pending[0].sourceline, "payslips of several periods in one file: "
                                     + ", ".join(sorted(f"{a}{'-' + b if b else ''}" for a, b in keys)), b""))
        return
    period, suffix = keys.pop()
    kind = PayrollRunKind.urgent if suffix else PayrollRunKind.main
    run_id = f"{doc.company}-{period}-main" if suffix is None else f"{doc.company}-{period}-urgent-{suffix}"
    pay_dates = [p.pay_date for p in pending if p.pay_date is not None]
    pay_date = max(pay_dates) if pay_dates else date.fromisoformat(f"{period}-25")
    try:
        at = datetime.fromisoformat(created) if created else datetime.combine(pay_date, time(6), STOCKHOLM)
    except ValueError:
        at = datetime.combine(pay_date, time(6), STOCKHOLM)
    if at.tzinfo is None:
        at = at.replace(tzinfo=STOCKHOLM)
    lines: list[Record[PayrollRun | PayLine]] = []
    gross = net = 0
    for number, p in enumerate(pending, start=1):
        try:
            event = PayLine(
                event_id=f"{run_id}:{number}", run_id=run_id, line_no=number, employee_id=p.employee_id,
                customer=doc.company, pay_type=p.pay_type, pay_type_name=p.name, category=p.category,
                quantity=p.quantity, unit_price_ore=p.unit_price_ore, amount_ore=p.amount_ore,
                work_date=p.work_date, period_from=p.period_from, period_to=p.period_to, cost_account=p.account,
                occurred_at=at, source=_SOURCE,
            )
        except ValidationError as exc:
            doc.errors.append(ParseError(p.sourceline, describe(exc), f"<lonrad anstid={p.employee_id!r}>".encode()))
            continue
        gross += event.amount_ore if event.category is PayCategory.gross else 0
        net += event.amount_ore if event.category is PayCategory.net else 0
        lines.append(Record(p.sourceline, event))
    header = {"run_id": run_id, "kind": kind, "customer": doc.company, "period": period, "pay_date": pay_date,
              "payment_channel": "bank file" if kind is PayrollRunKind.main else None, "source": _SOURCE}
    try:
        opened = PayrollRun(event_id=f"{run_id}:opened", status=PayrollRunStatus.opened, occurred_at=at, **header)
        closed = PayrollRun(event_id=f"{run_id}:closed", status=PayrollRunStatus.closed, occurred_at=at,
                            line_count=len(lines), gross_ore=gross, net_ore=net, **header)
    except ValidationError as exc:
        # Lines without their run header would never be checked: the run is rejected whole.
        doc.errors.append(ParseError(pending[0].sourceline, f"payroll run {run_id} rejected whole: {describe(exc)}",
                                     b""))
        return
    doc.records = [Record(0, opened), *lines, Record(0, closed)]
