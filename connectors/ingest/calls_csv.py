"""`calls-csv`: one contact per row (telephony or mailbox export) becomes its offered/answered/ended events."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from pydantic import ValidationError

from servicepulse.schemas.events import CallEvent, CallEventType, Channel

from . import ParseError, Record, not_utf8
from .validation import describe

__all__ = ["HEADER", "parse"]

HEADER = (
    "contact_id", "channel", "queue", "org", "offered_at", "answered_at", "ended_at",
    "abandoned", "resolved_first_contact", "agent_id",
)
_TRUE = {"true", "1", "yes", "ja", "y", "t"}
_FALSE = {"false", "0", "no", "nej", "n", "f", ""}


class _RowError(ValueError):
    pass


def _time(row: dict[str, str], name: str, required: bool) -> datetime | None:
    text = (row.get(name) or "").strip()
    if not text:
        if required:
            raise _RowError(f"{name} is empty")
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _RowError(f"{name} {text!r} is not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise _RowError(f"{name} {text!r} has no UTC offset")
    return value


def _bool(row: dict[str, str], name: str) -> bool:
    text = (row.get(name) or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _RowError(f"{name} {text!r} is not a boolean")


def _ms(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() * 1000)


def _events(row: dict[str, str]) -> list[CallEvent]:
    contact = (row.get("contact_id") or "").strip()
    try:
        channel = Channel((row.get("channel") or "").strip().lower())
    except ValueError:
        raise _RowError(f"channel {row.get('channel')!r} is not phone, email or chat") from None
    offered = _time(row, "offered_at", required=True)
    answered = _time(row, "answered_at", required=False)
    ended = _time(row, "ended_at", required=False)
    abandoned = _bool(row, "abandoned")
    resolved = _bool(row, "resolved_first_contact") if (row.get("resolved_first_contact") or "").strip() else None
    agent = (row.get("agent_id") or "").strip() or None
    assert offered is not None
    if abandoned and answered is not None:
        raise _RowError("abandoned contact has answered_at")
    if answered is not None and answered < offered:
        raise _RowError("answered_at is before offered_at")
    if ended is not None and ended < (answered or offered):
        raise _RowError("ended_at is before answered_at/offered_at")
    base = {"contact_id": contact, "channel": channel, "queue": (row.get("queue") or "").strip(),
            "org": (row.get("org") or "").strip(), "source": "calls-csv"}

    def event(kind: CallEventType, at: datetime, **extra: object) -> CallEvent:
        return CallEvent(event_id=f"{contact}:{kind.value}", event_type=kind, occurred_at=at, **base, **extra)

    if channel is Channel.email:
        out = [event(CallEventType.email_received, offered)]
        if answered is not None:
            out.append(event(CallEventType.email_answered, answered, offered_at=offered,
                             wait_ms=_ms(offered, answered), agent_id=agent,
                             resolved_first_contact=resolved))
        return out
    out = [event(CallEventType.offered, offered)]
    if abandoned:
        at = ended or offered
        out.append(event(CallEventType.abandoned, at, offered_at=offered, wait_ms=_ms(offered, at)))
        return out
    if answered is not None:
        out.append(event(CallEventType.answered, answered, offered_at=offered,
                         wait_ms=_ms(offered, answered), agent_id=agent))
        if ended is not None:
            out.append(event(CallEventType.ended, ended, offered_at=offered, handle_ms=_ms(answered, ended),
                             agent_id=agent, resolved_first_contact=resolved))
    return out


def parse(stream: IO[bytes]) -> Iterator[Record[CallEvent] | ParseError]:
    # Bytes that are not UTF-8 become lone surrogates, so one bad row is an error value with its line instead
    # of a UnicodeDecodeError that stops the file (and the rows after it).
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.DictReader(text)
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    missing = [h for h in HEADER if h not in header]
    if missing:
        yield ParseError(1, f"header lacks column(s) {', '.join(missing)}; expected {','.join(HEADER)}",
                         ",".join(header).encode("utf-8", "surrogateescape"))
        return
    for row in reader:
        line = reader.line_num
        if None in row:
            yield ParseError(line, f"row has {len(HEADER) + len(row[None])} fields, header has {len(header)}",
                             _raw(row))
            continue
        if not_utf8(row.values()):
            yield ParseError(line, "bad encoding: row is not UTF-8", _raw(row))
            continue
        try:
            for event in _events(row):
                yield Record(line, event)
        except _RowError as exc:
            yield ParseError(line, str(exc), _raw(row))
        except ValidationError as exc:
            yield ParseError(line, describe(exc), _raw(row))


def _raw(row: dict[str | None, object]) -> bytes:
    return ",".join(str(v) for k, v in row.items() if k is not None).encode("utf-8", "surrogateescape")
