"""Corrupt messages for demos and tests of the dead-letter path: bad bytes, unknown ids, invalid events."""

from __future__ import annotations

import io
import random
import struct

import fastavro

from servicepulse.connectors.serde import WireCodec
from servicepulse.schemas.avro import avro_schema, to_datum
from servicepulse.schemas.events import Event

__all__ = ["FAULT_KINDS", "corrupt_message", "invalid_payload"]

FAULT_KINDS = ("garbage", "unknown_schema", "invalid", "truncated")


def invalid_payload(event: Event, codec: WireCodec) -> bytes:
    """Framed Avro that decodes but breaks the model's rules (an empty required id)."""
    datum = to_datum(event)
    first_str = next(name for name, f in type(event).model_fields.items() if f.annotation in (str, "str"))
    datum[first_str] = ""
    buf = io.BytesIO()
    buf.write(codec.encode(event)[:5])
    fastavro.schemaless_writer(buf, fastavro.parse_schema(avro_schema(type(event))), datum)
    return buf.getvalue()


def corrupt_message(event: Event, codec: WireCodec, topic: str, rng: random.Random) -> tuple[str, bytes, bytes]:
    kind = rng.choice(FAULT_KINDS)
    good = codec.encode(event)
    if kind == "garbage":
        value = b"{not avro: " + bytes(rng.getrandbits(8) for _ in range(12))
    elif kind == "unknown_schema":
        value = struct.pack(">bI", 0, 999_999) + good[5:]
    elif kind == "truncated":
        value = good[: max(6, len(good) // 2)]
    else:
        value = invalid_payload(event, codec)
    return topic, event.key(), value
