"""`sie4`: SIE 4 (type 4 export and 4I import) vouchers become one ledger posting per #TRANS.

Encoding follows `#FORMAT PC8`: code page 437 (code page 850 has the Swedish letters in the same places).
Real exporters often write ISO-8859-15 or UTF-8 while declaring PC8; the file's bytes decide between
those (valid multi-byte UTF-8, else more Latin-1 than PC8 Swedish letters). Every voucher must balance to
the öre; one that does not is rejected whole, with its #VER line number. `#RTRANS` (added afterwards) is
followed by an identical `#TRANS` by definition and `#BTRANS` (removed) no longer counts, so only `#TRANS`
lines are booked. Company: `#FTGNR` if present, else `#ORGNR`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO

from pydantic import ValidationError

from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import InvoicePosting, PostingKind

from . import ParseError, Record
from .validation import describe, plain_decimal

__all__ = ["decode", "parse", "tokens"]

_PC8_SWEDISH = frozenset(b"\x86\x84\x94\x8f\x8e\x99")  # å ä ö Å Ä Ö in code pages 437 and 850
_LATIN_SWEDISH = frozenset(b"\xe5\xe4\xf6\xc5\xc4\xd6")
_KNOWN_TYPES = {"4"}


class _LineError(ValueError):
    pass


def decode(data: bytes) -> tuple[str, str]:
    """The text of a SIE file and the encoding used."""
    head = data[:4000].decode("ascii", errors="replace")
    declared = None
    for raw in head.splitlines():
        parts = raw.strip().split()
        if parts and parts[0].upper() == "#FORMAT" and len(parts) > 1:
            declared = parts[1].strip('"').upper()
            break
    if declared not in (None, "PC8"):
        raise _LineError(f"#FORMAT {declared} is not supported: SIE 4 files are PC8 (code page 437)")
    if any(b > 0x7F for b in data):
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        latin = sum(1 for b in data if b in _LATIN_SWEDISH)
        pc8 = sum(1 for b in data if b in _PC8_SWEDISH)
        if latin > pc8:
            return data.decode("iso-8859-15"), "iso-8859-15"
    return data.decode("cp437"), "cp437"


def tokens(line: str) -> list[str | list[str]]:
    """Split a SIE line: blanks separate, "quoted" fields keep blanks (\\" escapes), {…} is a list."""
    out: list[str | list[str]] = []
    i, n = 0, len(line)
    stack: list[list[str]] = []
    while i < n:
        c = line[i]
        if c in " \t":
            i += 1
            continue
        if c == "{":
            stack.append([])
            i += 1
            continue
        if c == "}":
            if not stack:
                raise _LineError("'}' without '{'")
            done = stack.pop()
            out.append(done)
            i += 1
            continue
        if c == '"':
            j, buf = i + 1, []
            while j < n and line[j] != '"':
                if line[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(line[j])
                j += 1
            if j >= n:
                raise _LineError("unterminated quoted field")
            word = "".join(buf)
            i = j + 1
        else:
            j = i
            while j < n and line[j] not in ' \t{}"':
                j += 1
            word = line[i:j]
            i = j
        (stack[-1] if stack else out).append(word)
    if stack:
        raise _LineError("'{' without '}'")
    return out


def _date(text: str, what: str) -> date:
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise _LineError(f"{what} {text!r} is not a date YYYYMMDD") from None


def _ore(text: str) -> int:
    value = plain_decimal(text)
    if value is None:
        raise _LineError(f"amount {text!r} is not a number")
    ore = value * 100
    if ore != ore.to_integral_value():
        raise _LineError(f"amount {text!r} has more than two decimals")
    return int(ore)


@dataclass
class _Voucher:
    line: int
    series: str
    number: str
    ver_date: date
    text: str
    reg_date: date | None
    sign: str | None
    raw: list[str] = field(default_factory=list)
    trans: list[tuple[int, str, int, date, str | None]] = field(default_factory=list)
    closed: bool = False


def _text(field_: str | list[str]) -> str:
    return field_ if isinstance(field_, str) else " ".join(field_)


def parse(stream: IO[bytes]) -> Iterator[Record[InvoicePosting] | ParseError]:
    data = stream.read()
    try:
        text, _encoding = decode(data)
    except _LineError as exc:
        yield ParseError(1, f"bad encoding: {exc}", data[:200])
        return
    meta: dict[str, str] = {}
    voucher: _Voucher | None = None
    ordinal = 0
    in_block = False
    # Only CR/LF end a line: str.splitlines also splits at form feed, NEL and other separators a damaged
    # file may hold, which would shift every line number after them.
    lines = re.split(r"\r\n|\r|\n", text)
    for lineno, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        if any(ord(c) < 32 and c != "\t" for c in stripped):
            yield ParseError(lineno, "bad encoding: control character in line", raw.encode("utf-8", "replace"))
            if voucher is not None:
                voucher.closed = True
            continue
        if stripped in ("{", "}"):
            if stripped == "{" and (voucher is None or in_block):
                yield ParseError(lineno, "'{' without a #VER before it", raw.encode("utf-8", "replace"))
            elif stripped == "}" and (voucher is None or not in_block):
                yield ParseError(lineno, "'}' without an open voucher", raw.encode("utf-8", "replace"))
            elif stripped == "{" and voucher is not None:
                voucher.raw.append(raw)
                in_block = True
            elif voucher is not None:
                voucher.raw.append(raw)
                in_block = False
                yield from _finish(voucher, meta, ordinal)
                voucher = None
            continue
        try:
            fields = tokens(stripped)
        except _LineError as exc:
            yield ParseError(lineno, str(exc), raw.encode("utf-8", "replace"))
            continue
        if not fields:
            continue
        label = _text(fields[0]).upper()
        args = fields[1:]
        if voucher is not None:
            voucher.raw.append(raw)
        try:
            if label == "#VER":
                if in_block and voucher is not None:
                    bad, voucher, in_block = voucher, None, False
                    yield ParseError(bad.line, f"voucher {bad.series} {bad.number} has no closing '}}'",
                                     "\n".join(bad.raw[:-1]).encode("utf-8", "replace"))
                elif voucher is not None and not voucher.closed:
                    # A #VER line with no {…} block after it: reported, not silently replaced by this one.
                    bad, voucher = voucher, None
                    yield ParseError(bad.line, f"voucher {bad.series} {bad.number} has no '{{' block",
                                     "\n".join(bad.raw[:-1]).encode("utf-8", "replace"))
                if meta.get("#SIETYP") not in _KNOWN_TYPES:
                    raise _LineError(f"#SIETYP {meta.get('#SIETYP')!r}: vouchers need SIE type 4 (4 or 4I)")
                if len(args) < 3:
                    raise _LineError("#VER needs series, number and date")
                ordinal += 1
                voucher = _Voucher(line=lineno, series=_text(args[0]), number=_text(args[1]),
                                   ver_date=date.min, text="", reg_date=None, sign=None, raw=[raw], closed=True)
                voucher.ver_date = _date(_text(args[2]), "voucher date")
                voucher.text = _text(args[3]) if len(args) > 3 else ""
                voucher.reg_date = _date(_text(args[4]), "registration date") if len(args) > 4 and args[4] else None
                voucher.sign = _text(args[5]) if len(args) > 5 and args[5] else None
                voucher.closed = False
                continue
            if label in ("#TRANS", "#RTRANS", "#BTRANS"):
                if voucher is None or not in_block:
                    raise _LineError(f"{label} outside a voucher")
                if label != "#TRANS":
                    continue
                if len(args) < 3 or not isinstance(args[1], list):
                    raise _LineError("#TRANS needs account, {objects} and amount")
                account = _text(args[0])
                if not account.isdigit():
                    raise _LineError(f"account {account!r} is not numeric")
                amount = _ore(_text(args[2]))
                trans_date = _date(_text(args[3]), "transaction date") if len(args) > 3 and args[3] else \
                    voucher.ver_date
                trans_text = _text(args[4]) if len(args) > 4 and args[4] else None
                voucher.trans.append((lineno, account, amount, trans_date, trans_text))
                continue
            if label.startswith("#") and args and label not in meta:
                meta[label] = _text(args[0])
        except _LineError as exc:
            yield ParseError(lineno, str(exc), raw.encode("utf-8", "replace"))
            if voucher is not None and label in ("#TRANS", "#VER"):
                # A voucher with an unreadable line cannot be checked for balance: it is rejected whole.
                voucher.closed = True
    if voucher is not None:
        yield ParseError(voucher.line, f"file ends inside voucher {voucher.series} {voucher.number} (no '}}')",
                         "\n".join(voucher.raw).encode("utf-8", "replace"))


def _company(meta: dict[str, str]) -> str:
    return (meta.get("#FTGNR") or meta.get("#ORGNR") or meta.get("#FNAMN") or "unknown").strip()


def _finish(voucher: _Voucher, meta: dict[str, str], ordinal: int) -> Iterator[Record[InvoicePosting] | ParseError]:
    raw = "\n".join(voucher.raw).encode("utf-8", "replace")
    if voucher.closed:
        yield ParseError(voucher.line, f"voucher {voucher.series} {voucher.number} rejected whole: one of its "
                         "lines could not be read", raw)
        return
    if not voucher.trans:
        yield ParseError(voucher.line, f"voucher {voucher.series} {voucher.number} has no #TRANS", raw)
        return
    total = sum(t[2] for t in voucher.trans)
    if total != 0:
        yield ParseError(voucher.line, f"voucher {voucher.series} {voucher.number} does not balance: sum of "
                         f"#TRANS is {Decimal(total) / 100:.2f}, must be 0.00", raw)
        return
    company = _company(meta)
    number = voucher.number or f"#{ordinal}"
    recorded = datetime.combine(voucher.reg_date or voucher.ver_date, time(12), STOCKHOLM)
    records: list[Record[InvoicePosting]] = []
    errors: list[ParseError] = []
    for idx, (lineno, account, amount, trans_date, trans_text) in enumerate(voucher.trans, start=1):
        try:
            event = InvoicePosting(
                event_id=f"{company}-sie-{voucher.series}-{number}-{idx}",
                kind=PostingKind.ledger_posting, company=company, account=account, amount_ore=amount,
                posting_date=trans_date, document_date=voucher.ver_date,
                voucher_series=voucher.series or None, voucher_number=voucher.number or None,
                text=trans_text or voucher.text or None, registered_by=voucher.sign,
                recorded_at=recorded, source="sie4",
            )
        except ValidationError as exc:
            errors.append(ParseError(lineno, f"voucher {voucher.series} {voucher.number} rejected whole: "
                                     f"{describe(exc)}", raw))
            continue
        records.append(Record(lineno, event))
    # Half a voucher would not balance: one posting the tables cannot hold rejects all of them.
    yield from errors or records
