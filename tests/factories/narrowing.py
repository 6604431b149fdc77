"""Typed narrowing for tests: where a signature says `Event` or `object`, a test checks the model it expects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from servicepulse.connectors.ingest import ParseError, Record
from servicepulse.schemas.events import Event

T = TypeVar("T")


def only(kind: type[T], items: Iterable[object]) -> list[T]:
    """The items as a list of `kind`, failing the test if any item is of another type."""
    out = list(items)
    wrong = [type(item).__name__ for item in out if not isinstance(item, kind)]
    assert not wrong, f"expected only {kind.__name__}, got {wrong}"
    return [item for item in out if isinstance(item, kind)]


def one(kind: type[T], item: object) -> T:
    """The item as `kind`, failing the test if it is of another type."""
    assert isinstance(item, kind), f"expected {kind.__name__}, got {type(item).__name__}"
    return item


E = TypeVar("E", bound=Event)


def records_of(kind: type[E], items: Iterable[Record[Event] | ParseError]) -> list[Record[E]]:
    """The records among a parser's output, each checked to carry a `kind` event (the errors are left out)."""
    return [Record(item.line, one(kind, item.event)) for item in items if isinstance(item, Record)]
