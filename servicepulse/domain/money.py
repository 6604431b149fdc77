"""Money: integer öre to and from Decimal kronor, and kronor written the Swedish way ("1 250,00 kr").

Money is never a float. Swedish formatting groups thousands with a NO-BREAK SPACE (U+00A0) and writes the
decimal comma; the same no-break space sits before "kr", so an amount never wraps across lines. Findings'
summaries and evidence keep the plain form ("1250.00", `format_amount`) they have always had, because
auditors compare them across versions.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

__all__ = ["NBSP", "decimal_to_ore", "format_amount", "format_sek", "ore_to_decimal"]

NBSP = "\u00a0"
_CENT = Decimal("0.01")


def ore_to_decimal(ore: int) -> Decimal:
    """Kronor with two decimals: 125000 -> Decimal('1250.00')."""
    return (Decimal(ore) / 100).quantize(_CENT)


def decimal_to_ore(amount: Decimal | str | int) -> int:
    """Öre of an amount in kronor; refuses fractions of an öre rather than rounding money silently."""
    try:
        value = Decimal(amount) * 100
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if value != value.to_integral_value():
        raise ValueError(f"{amount} kr is not a whole number of öre")
    return int(value)


def format_amount(ore: int, places: int = 2, thousands: str = "") -> str:
    """Kronor with a decimal point and `places` decimals (rounded half to even), thousands optionally grouped:
    format_amount(125000) -> '1250.00', format_amount(125000, thousands=' ') -> '1 250.00'."""
    value = (Decimal(ore) / 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    text = f"{value:,.{places}f}"
    return text.replace(",", thousands)


def format_sek(ore: int, unit: bool = True) -> str:
    """Swedish: format_sek(125000) -> '1 250,00 kr' (no-break spaces), format_sek(-5) -> '-0,05 kr'."""
    text = format_amount(ore, 2, NBSP).replace(".", ",")
    return f"{text}{NBSP}kr" if unit else text
