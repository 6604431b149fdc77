"""The sink's rows without pydantic equal pydantic's rows, and whatever pydantic refuses the fast path refuses too."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from pydantic import ValidationError

from servicepulse.connectors.serde import FileRegistry, WireCodec
from servicepulse.schemas.avro import from_datum
from servicepulse.schemas.events import EVENT_MODELS, CallEvent, Event, InvoicePosting
from servicepulse.streams.sink_rows import row_maker
from tests.factories.events import examples

CODEC = WireCodec(FileRegistry())
# Models left to pydantic row by row, and why: dead letters are few, and their payload is cut by a validator.
SLOW = {"DeadLetter"}

# Values that sit on or across a model's limits: each is put into every field in turn.
EDGES: list[Any] = [
    None, "", "x", "x" * 70_000, "ABC", "AB", "2026-03", "26-03", "not-a-member", "phone", "gross",
    -1, 0, 1, 2**31, 2**63, -(2**63) - 1, True, 1.5, b"", b"\x00" * 10,
    date(1900, 1, 1), date(1969, 12, 31), date(2026, 3, 1), date(2150, 1, 1),
    datetime(1900, 1, 1, tzinfo=UTC), datetime(2026, 3, 12, tzinfo=UTC), datetime(2300, 1, 1, tzinfo=UTC),
    datetime(2026, 3, 12),  # noqa: DTZ001 - a naive datetime, which the models refuse
    Decimal("1.5"), Decimal("1.23456"), Decimal("12345678901234567.5"), Decimal("NaN"),
    ["a", "b"], ["x" * 70_000], [], [1],
    "Lön 121212-1212 retur",
]


def pydantic_row(model: type[Event], datum: dict[str, Any]) -> list[Any] | None:
    try:
        event = from_datum(model, datum)
    except ValidationError:
        return None
    return [v.value if isinstance(v, StrEnum) else v for v in event.__dict__.values()]


@pytest.mark.parametrize("event", examples(), ids=lambda e: type(e).__name__)
def test_every_model_is_checked_without_pydantic_and_gives_pydantic_s_row(event: Event) -> None:
    model = type(event)
    maker = row_maker(model)
    datum, _schema_id = CODEC.decode_datum(CODEC.encode(event), model)
    row = maker.row(datum)
    if model.__name__ in SLOW:
        assert maker.why_slow is not None and row is None
        return
    assert maker.why_slow is None, maker.why_slow
    assert row is not None and row == pydantic_row(model, datum)


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_the_fast_path_never_accepts_what_pydantic_refuses_or_changes(model: type[Event]) -> None:
    event = next(e for e in examples() if type(e) is model)
    base, _ = CODEC.decode_datum(CODEC.encode(event), model)
    maker = row_maker(model)
    accepted = refused = 0
    for name in base:
        for value in EDGES:
            datum = base | {name: value}
            fast, slow = maker.row(dict(datum)), pydantic_row(model, dict(datum))
            if fast is not None:
                assert fast == slow, (name, value)
                accepted += 1
            elif slow is None:
                refused += 1
    assert refused and (accepted or model.__name__ in SLOW)  # both sides of the line were exercised


def test_the_models_own_validators_hold_on_the_fast_path() -> None:
    call = next(e for e in examples() if isinstance(e, CallEvent))
    datum, _ = CODEC.decode_datum(CODEC.encode(call), CallEvent)
    late = datum | {"offered_at": datum["occurred_at"] + timedelta(seconds=1)}
    assert row_maker(CallEvent).row(late) is None and pydantic_row(CallEvent, late) is None
    posting = next(e for e in examples() if isinstance(e, InvoicePosting))
    datum, _ = CODEC.decode_datum(CODEC.encode(posting), InvoicePosting)
    typed = datum | {"text": "Lön 121212-1212 retur"}
    row = row_maker(InvoicePosting).row(typed)
    assert row is not None and row == pydantic_row(InvoicePosting, typed)
    assert "121212-1212" not in str(row)
