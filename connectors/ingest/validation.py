"""Short, line-oriented messages for pydantic validation errors, and the one decimal syntax files may use."""

from __future__ import annotations

import re
from decimal import Decimal

from pydantic import ValidationError

__all__ = ["describe", "plain_decimal"]

# xs:decimal (camt.054, PAXml) and SIE amounts: sign, digits, point, digits. Decimal() alone also takes
# "1e400", "NaN", "-Infinity" and "1_000", which no exporter writes and int() cannot always convert.
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def plain_decimal(text: str) -> Decimal | None:
    """The number a plain decimal literal stands for, or None if `text` is not one."""
    return Decimal(text) if _PLAIN_DECIMAL.fullmatch(text) else None


def describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:4]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
