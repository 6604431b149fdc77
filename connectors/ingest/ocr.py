"""Bankgirot OCR references (Luhn modulus 10, optionally with a length digit) and shared bank-file helpers."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = [
    "BANK_ACCOUNT",
    "company_for_account",
    "is_organisation_number",
    "luhn_check_digit",
    "ocr_problem",
    "payer_name",
]

# The ledger account a bank payment is posted to (debit bank) by the importers; the customer-ledger side is
# booked later by the ledger (Agresso, SIE), to 1510, 9896 or 9894.
BANK_ACCOUNT = "1930"


def luhn_check_digit(digits: str) -> str:
    """The modulus-10 (Luhn) check digit of `digits`: weights 2,1,2,1... from the right."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str(-total % 10)


def ocr_problem(reference: str | None, *, length_digit: bool = False) -> str | None:
    """None if `reference` is a valid OCR number, else why not (missing, not digits, check digit, length digit).

    With `length_digit` (Bankgirot's "variabel längd med längdsiffra"), the second-to-last digit is the
    total length modulo 10 and the last is the Luhn check digit over everything before it.
    """
    ref = (reference or "").strip()
    if not ref:
        return "missing_reference"
    if not ref.isdigit():
        return "reference_not_numeric"
    if len(ref) < 2 or len(ref) > 25:
        return "reference_length"
    if luhn_check_digit(ref[:-1]) != ref[-1]:
        return "ocr_check_digit"
    if length_digit and int(ref[-2]) != len(ref) % 10:
        return "ocr_length_digit"
    return None


def company_for_account(account: str, bank_companies: Mapping[str, str] | None = None) -> str:
    """The ledger company receiving payments on a bankgiro or IBAN.

    `bank_companies` (setting FINANCE__BANK_COMPANIES) maps them, e.g. {"0009912346": "1040"}. An account not
    in the map stands for itself (digits of a bankgiro without leading zeros), so nothing is dropped.
    """
    mapping = {_norm(key): value.strip() for key, value in (bank_companies or {}).items()}
    norm = _norm(account)
    return mapping.get(norm) or norm.lstrip("0") or norm


def _norm(account: str) -> str:
    return re.sub(r"[\s-]", "", account).upper()


def is_organisation_number(number: str | None) -> bool:
    """A Swedish organisation number (third digit 2-9, Luhn-valid), as opposed to a personnummer.

    Accepts 10 digits or 12 digits with the "16" (or BgMax "00") prefix; dashes and spaces ignored.
    """
    digits = re.sub(r"[\s-]", "", number or "")
    if len(digits) == 12 and digits.startswith(("16", "00")):
        digits = digits[2:]
    if len(digits) != 10 or not digits.isdigit():
        return False
    return int(digits[2]) >= 2 and luhn_check_digit(digits[:-1]) == digits[-1]


def payer_name(name: str | None, organisation_number: str | None) -> str | None:
    """The payer's name only when the payer is shown to be an organisation; private persons stay unnamed."""
    name = (name or "").strip()
    return name if name and is_organisation_number(organisation_number) else None
