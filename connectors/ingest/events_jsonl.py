"""`events-jsonl`: one JSON event per line, `{"schema": "CallEvent", ...fields}`, any family."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import orjson
from pydantic import ValidationError

from servicepulse.schemas.events import EVENT_MODELS, Event

from . import ParseError, Record
from .validation import describe

__all__ = ["SCHEMA_FIELD", "dumps", "parse"]

SCHEMA_FIELD = "schema"
_MODELS: dict[str, type[Event]] = {m.schema_name: m for m in EVENT_MODELS}


def dumps(event: Event) -> bytes:
    """The line `parse` reads back to the same event."""
    body = event.model_dump(mode="json")
    return orjson.dumps({SCHEMA_FIELD: event.schema_name, **body})


def parse(stream: IO[bytes]) -> Iterator[Record[Event] | ParseError]:
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if not line:
            continue
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield ParseError(number, f"not JSON: {exc}", raw)
            continue
        if not isinstance(doc, dict):
            yield ParseError(number, "a line must be a JSON object", raw)
            continue
        name = doc.pop(SCHEMA_FIELD, None)
        model = _MODELS.get(name) if isinstance(name, str) else None
        if model is None:
            known = ", ".join(sorted(_MODELS))
            yield ParseError(number, f"field {SCHEMA_FIELD!r} must name a schema ({known}), got {name!r}", raw)
            continue
        try:
            yield Record(number, model.model_validate(doc))
        except ValidationError as exc:
            yield ParseError(number, f"{name}: {describe(exc)}", raw)
