"""calls-csv and events-jsonl: valid rows become events, bad rows become errors with their line number."""

from __future__ import annotations

import io

from servicepulse.connectors.ingest import ParseError, Record, get_parser
from servicepulse.connectors.ingest.events_jsonl import dumps
from servicepulse.schemas.events import CallEvent, CallEventType, Event
from tests.factories.events import examples
from tests.factories.narrowing import records_of

HEADER = "contact_id,channel,queue,org,offered_at,answered_at,ended_at,abandoned,resolved_first_contact,agent_id\n"


def parse(fmt: str, text: str) -> list[Record[Event] | ParseError]:
    return list(get_parser(fmt)(io.BytesIO(text.encode())))


def test_answered_call_gives_offered_answered_ended_with_waits() -> None:
    out = parse("calls-csv", HEADER + "c1,phone,kc-social,Kontaktcenter,2026-03-12T09:00:00+01:00,"
                "2026-03-12T09:00:45+01:00,2026-03-12T09:05:45+01:00,false,true,ag1\n")
    assert all(isinstance(r, Record) for r in out)
    events = [r.event for r in records_of(CallEvent, out)]
    assert [e.event_type for e in events] == [CallEventType.offered, CallEventType.answered, CallEventType.ended]
    assert events[1].wait_ms == 45_000
    assert events[2].handle_ms == 300_000 and events[2].resolved_first_contact is True
    assert {r.line for r in out} == {2}


def test_abandoned_call_and_email() -> None:
    out = parse("calls-csv", HEADER
                + "c2,phone,kc-social,KC,2026-03-12T09:00:00+01:00,,2026-03-12T09:00:04+01:00,true,,\n"
                + "m1,email,payroll-service,Lön,2026-03-12T22:00:00+01:00,2026-03-13T10:00:00+01:00,,false,,ag2\n")
    events = [r.event for r in records_of(CallEvent, out)]
    assert [e.event_type for e in events] == [
        CallEventType.offered, CallEventType.abandoned, CallEventType.email_received, CallEventType.email_answered
    ]
    assert events[1].wait_ms == 4_000
    assert events[3].wait_ms == 12 * 3600 * 1000


def test_bad_rows_are_errors_with_line_numbers_and_good_rows_survive() -> None:
    text = (HEADER
            + "c1,phone,q,o,2026-03-12T09:00:00+01:00,2026-03-12T09:00:10+01:00,,false,,\n"   # line 2 ok
            + "c2,phone,q,o,2026-03-12T09:00:00,,,true,,\n"                                    # 3 naive time
            + "c3,fax,q,o,2026-03-12T09:00:00+01:00,,,true,,\n"                                # 4 channel
            + "c4,phone,q,o,2026-03-12T09:00:00+01:00,2026-03-12T08:00:00+01:00,,false,,\n"   # 5 answered < offered
            + "c5,phone,q,o,2026-03-12T09:00:00+01:00,,,maybe,,\n"                            # 6 bool
            + "c6,phone,,o,2026-03-12T09:00:00+01:00,,,true,,\n"                               # 7 empty queue
            + "c7,phone,q,o,2026-03-12T09:00:00+01:00,,,true,,,extra\n"                        # 8 too many fields
            + "c8,chat,q,o,2026-03-12T09:00:00+01:00,,,true,,\n")                              # 9 ok
    out = parse("calls-csv", text)
    errors = {e.line: e.reason for e in out if isinstance(e, ParseError)}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]
    assert "no UTC offset" in errors[3]
    assert "channel" in errors[4]
    assert "before offered_at" in errors[5]
    assert "boolean" in errors[6]
    assert "queue" in errors[7]
    assert {r.event.contact_id for r in records_of(CallEvent, out)} == {"c1", "c8"}


def test_missing_header_column_is_one_clear_error() -> None:
    out = parse("calls-csv", "contact_id,channel\nc1,phone\n")
    assert len(out) == 1 and isinstance(out[0], ParseError)
    assert "offered_at" in out[0].reason


def test_jsonl_round_trips_every_family_and_reports_bad_lines() -> None:
    good = [dumps(e).decode() for e in examples()]
    lines = [*good[:2], "not json", '{"schema": "Nope"}', '{"schema": "CallEvent", "contact_id": ""}', "[1]",
             *good[2:]]
    out = parse("events-jsonl", "\n".join(lines) + "\n")
    records = [r for r in out if isinstance(r, Record)]
    assert [r.event for r in records] == examples()
    errors = {e.line: e.reason for e in out if isinstance(e, ParseError)}
    assert sorted(errors) == [3, 4, 5, 6]
    assert "not JSON" in errors[3]
    assert "Nope" in errors[4]
    assert "CallEvent" in errors[5] and "contact_id" in errors[5]
