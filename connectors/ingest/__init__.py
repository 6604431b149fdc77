"""File importers: each parses a byte stream into event records or error values, never raising on bad input."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Generic, Protocol, TypeVar

from servicepulse.config import Settings
from servicepulse.schemas.events import Event

__all__ = ["FORMATS", "ParseError", "Parser", "Record", "get_parser", "not_utf8"]


EventT = TypeVar("EventT", bound=Event, covariant=True)


@dataclass(frozen=True)
class Record(Generic[EventT]):
    """One parsed event and the line it came from; a parser's records carry the model its format produces."""

    line: int
    event: EventT


@dataclass(frozen=True)
class ParseError:
    line: int
    reason: str
    raw: bytes


def not_utf8(cells: Iterable[object]) -> bool:
    """Whether text read with errors="surrogateescape" held bytes that are not UTF-8 (lone surrogates)."""
    return any(isinstance(c, str) and any("\udc80" <= ch <= "\udcff" for ch in c) for c in cells)


Parser = Callable[[IO[bytes]], Iterator[Record[Event] | ParseError]]


class _BankParser(Protocol):
    """A bank-file parser: also takes the bankgiro/IBAN -> company map."""

    def __call__(self, stream: IO[bytes], bank_companies: Mapping[str, str] | None = None) -> Iterator[
            Record[Event] | ParseError]: ...


def _bank_formats() -> dict[str, _BankParser]:
    from . import bgmax, camt054

    return {"bgmax": bgmax.parse, "camt054": camt054.parse}


def _formats() -> dict[str, Parser]:
    from . import calls_csv, events_jsonl, paxml, sie4

    bank = _bank_formats()
    return {"events-jsonl": events_jsonl.parse, "calls-csv": calls_csv.parse, "sie4": sie4.parse,
            "bgmax": bank["bgmax"], "camt054": bank["camt054"], "paxml": paxml.parse}


FORMATS: tuple[str, ...] = ("events-jsonl", "calls-csv", "sie4", "bgmax", "camt054", "paxml")


def get_parser(name: str, settings: Settings | None = None) -> Parser:
    """The parser of a format; bank formats get the bankgiro/IBAN -> company map from the settings."""
    formats = _formats()
    if name not in formats:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(sorted(formats))}")
    bank = _bank_formats()
    if name in bank and settings is not None:
        return functools.partial(bank[name], bank_companies=settings.finance.bank_companies)
    return formats[name]
