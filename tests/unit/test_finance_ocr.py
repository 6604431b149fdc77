"""OCR references (Luhn mod 10, length digit) and the organisation-number test that keeps private payers unnamed."""

from __future__ import annotations

import pytest

from servicepulse.connectors.ingest.ocr import (
    company_for_account,
    is_organisation_number,
    luhn_check_digit,
    ocr_problem,
    payer_name,
)
from servicepulse.simulator.finance import luhn_check_digit as simulator_luhn


@pytest.mark.parametrize("digits", ["4001001", "7992739871", "1234567", "0", "55600000"])
def test_check_digit_agrees_with_the_simulator(digits: str) -> None:
    assert luhn_check_digit(digits) == simulator_luhn(digits)


def test_known_check_digits() -> None:
    assert luhn_check_digit("7992739871") == "3"  # the textbook Luhn example
    assert ocr_problem("79927398713") is None


def test_ocr_problems() -> None:
    assert ocr_problem(None) == "missing_reference"
    assert ocr_problem("  ") == "missing_reference"
    assert ocr_problem("faktura mars") == "reference_not_numeric"
    assert ocr_problem("79927398710") == "ocr_check_digit"
    assert ocr_problem("5") == "reference_length"


def test_length_digit() -> None:
    base = "1234567"  # 7 digits + length digit + check digit = 9 digits: length digit 9
    ref = base + "9" + luhn_check_digit(base + "9")
    assert ocr_problem(ref, length_digit=True) is None
    wrong = base + "8" + luhn_check_digit(base + "8")
    assert ocr_problem(wrong) is None and ocr_problem(wrong, length_digit=True) == "ocr_length_digit"


def test_organisation_numbers_and_personnummer() -> None:
    assert is_organisation_number("556036-0793")
    assert is_organisation_number("165560360793") and is_organisation_number("005560360793")
    assert not is_organisation_number("194507121234")  # a personnummer (month digit 0/1)
    assert not is_organisation_number("5560360794")  # wrong check digit
    assert payer_name("Märta Sjöström", "4507121234") is None
    assert payer_name("Märta Sjöström", None) is None
    assert payer_name("Fastighets AB Vinkeln", "5560360793") == "Fastighets AB Vinkeln"


def test_bank_account_to_company(monkeypatch: pytest.MonkeyPatch) -> None:
    mapping = {"0005050505": "1040", "SE45 5000 0000 0583 9825 7466": "1010"}
    assert company_for_account("0005050505", mapping) == "1040"
    assert company_for_account("SE4550000000058398257466", mapping) == "1010"
    assert company_for_account("0009912346", mapping) == "9912346"
