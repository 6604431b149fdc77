"""File importers: each parses a byte stream into event records or error values, never raising on bad input."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from servicepulse.config import Settings
from servicepulse.schemas.events import Event

__all__ = ["FORMATS", "ParseError", "Parser", "Record", "get_parser"]


@dataclass(frozen=True)
class Record:
    line: int
    event: Event


@dataclass(frozen=True)
class ParseError:
    line: int
    reason: str
    raw: bytes


Parser = Callable[[IO[bytes]], Iterator[Record | ParseError]]


def _formats() -> dict[str, Parser]:
    from . import bgmax, calls_csv, camt054, events_jsonl, paxml, sie4

    return {"events-jsonl": events_jsonl.parse, "calls-csv": calls_csv.parse, "sie4": sie4.parse,
            "bgmax": bgmax.parse, "camt054": camt054.parse, "paxml": paxml.parse}


_BANK_FORMATS = frozenset({"bgmax", "camt054"})
FORMATS: tuple[str, ...] = ("events-jsonl", "calls-csv", "sie4", "bgmax", "camt054", "paxml")


def get_parser(name: str, settings: Settings | None = None) -> Parser:
    """The parser of a format; bank formats get the bankgiro/IBAN -> company map from the settings."""
    formats = _formats()
    if name not in formats:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(sorted(formats))}")
    parser = formats[name]
    if name in _BANK_FORMATS and settings is not None:
        return functools.partial(parser, bank_companies=settings.finance.bank_companies)
    return parser
