"""Numbers as a Swedish (78,6 %, 1 250,00 kr, 12 345) or English (78.6%, SEK 1,250.00, 12,345) reader expects."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from servicepulse.domain.money import NBSP, format_amount, format_sek

from .messages import message
from .model import Measure, Unit

__all__ = ["format_change", "format_measure", "format_money", "format_number", "format_percent"]


def _grouped(value: float, places: int, lang: str) -> str:
    # Half up (what people expect on paper), through Decimal so 0.0785 -> 7,9 % and not 7,8 %.
    number = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if number == 0:
        number = abs(number)  # never "-0,0"
    text = f"{number:,.{places}f}"
    if lang == "sv":
        return text.replace(",", NBSP).replace(".", ",")
    return text


def format_number(value: float | int | None, lang: str, places: int = 0) -> str:
    """12345 -> '12 345' (sv, no-break space) or '12,345' (en); None -> 'ingen data' / 'no data'."""
    if value is None:
        return message("no_data", lang)
    return _grouped(float(value), places, lang)


def format_percent(value: float | None, lang: str, places: int = 1) -> str:
    """A ratio as a percentage: 0.786 -> '78,6 %' (sv) or '78.6%' (en)."""
    if value is None:
        return message("no_data", lang)
    text = _grouped(value * 100, places, lang)
    return f"{text}{NBSP}%" if lang == "sv" else f"{text}%"


def format_change(value: float | None, lang: str, places: int = 1) -> str:
    """A relative change with its sign: -0.03 -> '-3,0 %', 0.05 -> '+5,0 %', 0 -> '0,0 %'."""
    if value is None:
        return message("no_data", lang)
    text = format_percent(value, lang, places)
    return f"+{text}" if not text.startswith("-") and text.strip("0,.% " + NBSP) else text


def format_money(ore: int, lang: str) -> str:
    """Öre as kronor: 125000 -> '1 250,00 kr' (sv) or 'SEK 1,250.00' (en)."""
    return format_sek(ore) if lang == "sv" else f"SEK{NBSP}{format_amount(ore, 2, ',')}"


def format_measure(measure: Measure, value: float | None, lang: str) -> str:
    """A value (or target) of `measure` in its unit."""
    if measure.unit is Unit.ratio:
        return format_percent(value, lang)
    if measure.unit is Unit.change:
        return format_change(value, lang)
    return format_number(value, lang)
