"""File importers: each parses a byte stream into event records or error values, never raising on bad input."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

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
    from . import calls_csv, events_jsonl

    return {"events-jsonl": events_jsonl.parse, "calls-csv": calls_csv.parse}


FORMATS: tuple[str, ...] = ("events-jsonl", "calls-csv")


def get_parser(name: str) -> Parser:
    formats = _formats()
    if name not in formats:
        raise KeyError(f"unknown format {name!r}; known: {', '.join(sorted(formats))}")
    return formats[name]
