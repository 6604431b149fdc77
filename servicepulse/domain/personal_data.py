"""Personal data out of free text: personnummer and samordningsnummer (Luhn-checked) and names masked.

One place for the rules, used by the log pipeline (every line from every library), by the importers for
remittance text and by whatever builds evidence, alerts or dead-letter reasons from free text.

- `redact(text)` masks every Swedish personal identity number in any common form: `YYYYMMDD-NNNC`,
  `YYMMDD-NNNC`, `YYMMDD+NNNC` (100 years or older), `YYYYMMDDNNNC`, `YYMMDDNNNC`, with a space for the
  separator too, and coordination numbers (day + 60). A candidate is masked only when its date is a real
  date (month 01-12, day 01-31 or 61-91) and its check digit passes Luhn, so organisation numbers (third
  digit 2 or more: `212000-0142`, `2120000142`) and most other 10- and 12-digit numbers (OCR references,
  bank accounts, offsets) stay as they are. A number of that shape that happens to pass both checks is
  masked: in logs and free text a false mask costs little, a missed personnummer a lot. Names registered
  with `remember_protected_names` (protected persons known to this process) are masked too.
- `redact_free_text(text)` is for text people typed (camt `Ustrd` remittance, posting texts): after `redact`
  it keeps only what an auditor matches on — tokens with a digit (OCR and invoice references, amounts,
  dates) and a short list of bookkeeping words — and masks every other word, since a name cannot be told
  from other words. Only this redacted form is stored; the original stays in the bank file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from datetime import date

__all__ = [
    "MASK",
    "NAME_MASK",
    "TEXT_MASK",
    "is_personnummer",
    "luhn_valid",
    "redact",
    "redact_free_text",
    "remember_protected_names",
]

MASK = "<personnummer>"
NAME_MASK = "<name>"
TEXT_MASK = "***"

# Century (optional), YYMMDD, separator (optional: - + or one space), NNNC; never inside a longer digit run.
_CANDIDATE = re.compile(
    r"(?<!\d)(?P<century>1[89]|20)?(?P<yy>\d{2})(?P<mm>\d{2})(?P<dd>\d{2})"
    r"(?P<sep>[-+]|\s?[-+]?\s?)(?P<tail>\d{4})(?!\d)"
)
_names_lock = threading.Lock()
_names: frozenset[str] = frozenset()
_names_re: re.Pattern[str] | None = None


def luhn_valid(digits: str) -> bool:
    """Luhn (modulus 10) over all of `digits`, the last being the check digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _real_date(century: str | None, yy: str, mm: str, dd: str) -> bool:
    month, day = int(mm), int(dd)
    if day > 60:  # samordningsnummer: the day plus 60
        day -= 60
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    # Without a century, 2000 is a leap year, so 29 February of any YY divisible by 4 passes (1900 is the one
    # exception, and masking it is the safe side).
    year = int(century + yy) if century else 2000 + int(yy)
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def is_personnummer(text: str) -> bool:
    """Whether `text` as a whole is a personnummer or samordningsnummer in one of the common forms."""
    m = _CANDIDATE.fullmatch(text.strip())
    return m is not None and _valid(m)


def _valid(m: re.Match[str]) -> bool:
    if not _real_date(m["century"], m["yy"], m["mm"], m["dd"]):
        return False
    return luhn_valid(m["yy"] + m["mm"] + m["dd"] + m["tail"])


def _mask(m: re.Match[str]) -> str:
    return MASK if _valid(m) else m.group()


def remember_protected_names(names: Iterable[str]) -> None:
    """Names of protected persons this process has seen (e.g. while loading master data): masked from then on
    in everything `redact` handles. Names shorter than three letters are ignored (they would mask words)."""
    global _names, _names_re
    with _names_lock:
        merged = _names | {n.strip() for n in names if len(n.strip()) >= 3}
        if merged == _names:
            return
        _names = frozenset(merged)
        ordered = sorted(_names, key=len, reverse=True)  # "Anna Maria" before "Anna"
        _names_re = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every personnummer and samordningsnummer masked, and any remembered protected name."""
    if not text:
        return text
    if any(ch.isdigit() for ch in text):
        text = _CANDIDATE.sub(_mask, text)
    names = _names_re
    if names is not None:
        text = names.sub(NAME_MASK, text)
    return text


# Words that carry no personal data and that auditors match remittance text on.
_KEEP_WORDS = frozenset({
    "ocr", "ref", "referens", "faktura", "fakt", "fakturanr", "fakturanummer", "fnr", "avi", "avinr",
    "kund", "kundnr", "kundnummer", "ordernr", "order", "avtal", "avtalsnr", "hyra", "avgift", "ränta",
    "inbetalning", "betalning", "delbetalning", "återbetalning", "kredit", "kreditfaktura", "ver", "enl",
    "sek", "kr", "eur", "invoice", "payment", "nr", "avser", "period", "moms", "januari", "februari", "mars",
    "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dec",
})
_TOKEN = re.compile(r"\S+")


def _keep(token: str) -> bool:
    if token == MASK or any(ch.isdigit() for ch in token):
        return "@" not in token  # an e-mail address with digits is still personal
    return token.strip(".,:;()[]/-").casefold() in _KEEP_WORDS or not any(ch.isalpha() for ch in token)


def redact_free_text(text: str | None) -> str | None:
    """Typed free text reduced to what an auditor needs: personnummer masked, then tokens with digits and
    bookkeeping words kept, every other word masked (runs of masked words become one mask)."""
    if text is None:
        return None
    out: list[str] = []
    for token in _TOKEN.findall(redact(text)):
        if _keep(token):
            out.append(token)
        elif not out or out[-1] != TEXT_MASK:
            out.append(TEXT_MASK)
    return " ".join(out)
