"""Money: öre <-> Decimal, Swedish formatting with no-break spaces, and the plain form findings carry."""

from __future__ import annotations

from decimal import Decimal

import pytest

from servicepulse.domain.money import NBSP, decimal_to_ore, format_amount, format_sek, ore_to_decimal


def test_swedish_format_uses_no_break_spaces() -> None:
    assert format_sek(125000) == f"1{NBSP}250,00{NBSP}kr"
    assert format_sek(125000).replace(NBSP, " ") == "1 250,00 kr"
    assert format_sek(5) == f"0,05{NBSP}kr"
    assert format_sek(-123456789) == f"-1{NBSP}234{NBSP}567,89{NBSP}kr"
    assert format_sek(100, unit=False) == "1,00"


def test_plain_amount_matches_the_old_float_formatting() -> None:
    for ore in (0, 1, 99, 125_050, 5_000_000, 2_500_050, -77, 12_345_678_901):
        assert format_amount(ore) == f"{ore / 100:.2f}"
        assert format_amount(ore, 0) == f"{ore / 100:.0f}"
    assert format_amount(125_000, thousands=" ") == "1 250.00"


def test_ore_and_decimal() -> None:
    assert ore_to_decimal(125_050) == Decimal("1250.50")
    assert decimal_to_ore(Decimal("1250.5")) == 125_050
    assert decimal_to_ore("-0.01") == -1
    with pytest.raises(ValueError, match="whole number of öre"):
        decimal_to_ore("1.005")
    with pytest.raises(ValueError, match="not an amount"):
        decimal_to_ore("ten")
