"""The .avsc files, the file registry and the pydantic models must not drift; every example round-trips."""

from __future__ import annotations

import io
import json
import struct

import fastavro
import pytest

from servicepulse.connectors.serde import DEFAULT_REGISTRY_FILE, DecodeError, FileRegistry, WireCodec
from servicepulse.schemas.avro import SCHEMA_DIR, avro_file_name, avro_schema, to_datum
from servicepulse.schemas.events import EVENT_MODELS, CallEvent, DeadLetterKind, Event, InvoicePosting
from tests.factories.events import examples


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.schema_name)
def test_avsc_file_matches_model(model: type) -> None:
    on_disk = json.loads((SCHEMA_DIR / avro_file_name(model)).read_text(encoding="utf-8"))
    assert on_disk == avro_schema(model), "run `servicepulse schemas sync`"


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.schema_name)
def test_registry_latest_is_current_schema(model: type) -> None:
    registry = FileRegistry(DEFAULT_REGISTRY_FILE)
    assert registry.schema_for(registry.id_for(model)) == avro_schema(model)


def test_registry_ids_are_unique() -> None:
    doc = json.loads(DEFAULT_REGISTRY_FILE.read_text(encoding="utf-8"))
    ids = [e["id"] for e in doc["schemas"]]
    assert len(ids) == len(set(ids))


def test_every_model_has_an_example() -> None:
    assert {type(e) for e in examples()} == set(EVENT_MODELS)


@pytest.mark.parametrize("event", examples(), ids=lambda e: type(e).__name__)
def test_example_round_trips_through_wire_format(event: Event) -> None:
    codec = WireCodec(FileRegistry())
    payload = codec.encode(event)
    assert payload[0] == 0
    schema_id = struct.unpack(">I", payload[1:5])[0]
    assert schema_id == FileRegistry().id_for(type(event))
    assert codec.decode(payload, type(event)) == event


@pytest.mark.parametrize("event", examples(), ids=lambda e: type(e).__name__)
def test_body_is_plain_avro_readable_by_any_consumer(event: Event) -> None:
    payload = WireCodec(FileRegistry()).encode(event)
    datum = fastavro.schemaless_reader(io.BytesIO(payload[5:]), fastavro.parse_schema(avro_schema(type(event))))
    assert datum == to_datum(event)


def _codec() -> WireCodec:
    return WireCodec(FileRegistry())


def test_garbage_is_undecodable() -> None:
    with pytest.raises(DecodeError) as err:
        _codec().decode(b'{"json": true}', CallEvent)
    assert err.value.kind is DeadLetterKind.undecodable


def test_unknown_schema_id() -> None:
    good = _codec().encode(examples()[0])
    with pytest.raises(DecodeError) as err:
        _codec().decode(struct.pack(">bI", 0, 424242) + good[5:], CallEvent)
    assert err.value.kind is DeadLetterKind.unknown_schema
    assert err.value.schema_id == 424242


def test_schema_of_another_family_is_rejected() -> None:
    posting = _codec().encode(examples()[1])
    with pytest.raises(DecodeError) as err:
        _codec().decode(posting, CallEvent)
    assert err.value.kind is DeadLetterKind.unknown_schema
    assert "InvoicePosting" in err.value.reason


def test_truncated_body_is_undecodable() -> None:
    good = _codec().encode(examples()[1])
    with pytest.raises(DecodeError) as err:
        _codec().decode(good[: len(good) - 3], InvoicePosting)
    assert err.value.kind is DeadLetterKind.undecodable


def test_schema_invalid_event_names_the_field() -> None:
    event = examples()[0]
    datum = to_datum(event)
    datum["wait_ms"] = -5
    buf = io.BytesIO()
    buf.write(_codec().encode(event)[:5])
    fastavro.schemaless_writer(buf, fastavro.parse_schema(avro_schema(CallEvent)), datum)
    with pytest.raises(DecodeError) as err:
        _codec().decode(buf.getvalue(), CallEvent)
    assert err.value.kind is DeadLetterKind.invalid
    assert "wait_ms" in err.value.reason


def test_naive_datetimes_are_refused() -> None:
    from datetime import datetime

    with pytest.raises(ValueError, match="timezone"):
        CallEvent(event_id="e", contact_id="c", event_type="offered", channel="phone", queue="q", org="o",
                  occurred_at=datetime(2026, 1, 1, 8, 0))  # noqa: DTZ001 - the point of the test
