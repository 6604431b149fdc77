"""Avro in the Confluent wire format (magic byte, 4-byte schema id, body), with a file or HTTP schema registry."""

from __future__ import annotations

import io
import json
import struct
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import fastavro
from pydantic import ValidationError

from servicepulse.schemas.avro import NAMESPACE, SCHEMA_DIR, avro_schema, from_datum, to_datum
from servicepulse.schemas.events import EVENT_MODELS, DeadLetterKind, Event

__all__ = [
    "ConfluentRegistry",
    "DecodeError",
    "FileRegistry",
    "Registry",
    "RegistryUnavailable",
    "WireCodec",
    "build_registry",
    "sync_file_registry",
]

E = TypeVar("E", bound=Event)

MAGIC = 0
_HEADER = struct.Struct(">bI")
DEFAULT_REGISTRY_FILE = SCHEMA_DIR / "registry.json"


class DecodeError(Exception):
    """A payload that cannot become an event; `kind` says which dead-letter bucket it belongs to."""

    def __init__(self, kind: DeadLetterKind, reason: str, schema_id: int | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.schema_id = schema_id


class RegistryUnavailable(Exception):
    """The schema registry did not answer (network, timeout, a 5xx, refused credentials): transient. The message is
    not bad; whoever decodes it must wait and retry, never dead-letter it."""


class Registry(Protocol):
    def id_for(self, model: type[Event]) -> int: ...

    def schema_for(self, schema_id: int) -> dict[str, Any] | None: ...


def _fullname(model: type[Event]) -> str:
    return f"{NAMESPACE}.{model.schema_name}"


class FileRegistry:
    """Schema ids kept in a JSON file in the repository, so ids are stable without a registry server."""

    def __init__(self, path: Path = DEFAULT_REGISTRY_FILE) -> None:
        doc = json.loads(path.read_text(encoding="utf-8"))
        self._by_id: dict[int, dict[str, Any]] = {}
        self._latest: dict[str, int] = {}
        for entry in doc["schemas"]:
            self._by_id[int(entry["id"])] = entry["schema"]
            self._latest[entry["name"]] = int(entry["id"])

    def id_for(self, model: type[Event]) -> int:
        try:
            return self._latest[_fullname(model)]
        except KeyError:
            raise LookupError(f"{_fullname(model)} is not registered; run `servicepulse schemas sync`") from None

    def schema_for(self, schema_id: int) -> dict[str, Any] | None:
        return self._by_id.get(schema_id)


class ConfluentRegistry:
    """A real Schema Registry through confluent-kafka's client; subjects follow RecordNameStrategy."""

    def __init__(self, url: str) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient

        self._client = SchemaRegistryClient({"url": url})
        self._ids: dict[str, int] = {}
        self._schemas: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def id_for(self, model: type[Event]) -> int:
        from confluent_kafka.schema_registry import Schema

        name = _fullname(model)
        with self._lock:
            if name not in self._ids:
                schema = Schema(json.dumps(avro_schema(model)), "AVRO")
                self._ids[name] = self._client.register_schema(name, schema)
            return self._ids[name]

    def schema_for(self, schema_id: int) -> dict[str, Any] | None:
        """The writer schema of `schema_id`; None only when the registry answered that it does not know the id.
        Any other failure raises `RegistryUnavailable` (a registry outage must not turn valid data into dead
        letters)."""
        with self._lock:
            if schema_id not in self._schemas:
                try:
                    found = self._client.get_schema(schema_id)
                except Exception as exc:
                    if _is_unknown_schema(exc):
                        return None
                    raise RegistryUnavailable(f"schema registry lookup of id {schema_id} failed: "
                                              f"{type(exc).__name__}") from exc
                if found.schema_str is None:  # the client types it optional; a registered schema always has one
                    return None
                self._schemas[schema_id] = json.loads(found.schema_str)
            return self._schemas[schema_id]


def _is_unknown_schema(exc: Exception) -> bool:
    """The registry answered 404 (error 40403 "Schema not found"): the id really is unknown."""
    return getattr(exc, "http_status_code", None) == 404


def build_registry(url: str | None, file: Path | None = None) -> Registry:
    return ConfluentRegistry(url) if url else FileRegistry(file or DEFAULT_REGISTRY_FILE)


def sync_file_registry(path: Path = DEFAULT_REGISTRY_FILE) -> list[str]:
    """Give every changed model schema a new id (append-only); returns the names that got one."""
    doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"schemas": []}
    latest: dict[str, dict[str, Any]] = {e["name"]: e for e in doc["schemas"]}
    next_id = max((int(e["id"]) for e in doc["schemas"]), default=0) + 1
    added = []
    for model in EVENT_MODELS:
        schema = avro_schema(model)
        name = _fullname(model)
        if name in latest and latest[name]["schema"] == schema:
            continue
        version = latest[name]["version"] + 1 if name in latest else 1
        doc["schemas"].append({"id": next_id, "name": name, "version": version, "schema": schema})
        added.append(name)
        next_id += 1
    if added:
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return added


@dataclass(frozen=True)
class _Reader:
    writer: Any
    reader: Any


class WireCodec:
    """Encodes events to Confluent-framed Avro and decodes them back, resolving old writer schemas."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._writers: dict[type[Event], tuple[bytes, Any]] = {}
        self._readers: dict[tuple[int, type[Event]], _Reader] = {}
        self._lock = threading.Lock()

    def _writer(self, model: type[Event]) -> tuple[bytes, Any]:
        cached = self._writers.get(model)
        if cached is None:
            header = _HEADER.pack(MAGIC, self._registry.id_for(model))
            cached = (header, fastavro.parse_schema(avro_schema(model)))
            with self._lock:
                self._writers[model] = cached
        return cached

    def encode(self, event: Event) -> bytes:
        header, parsed = self._writer(type(event))
        buf = io.BytesIO()
        buf.write(header)
        fastavro.schemaless_writer(buf, parsed, to_datum(event))
        return buf.getvalue()

    def _reader(self, schema_id: int, model: type[Event]) -> _Reader:
        reader = self._readers.get((schema_id, model))
        if reader is None:
            writer_schema = self._registry.schema_for(schema_id)
            if writer_schema is None:
                raise DecodeError(DeadLetterKind.unknown_schema, f"unknown schema id {schema_id}", schema_id)
            if writer_schema.get("name") != model.schema_name:
                raise DecodeError(
                    DeadLetterKind.unknown_schema,
                    f"schema id {schema_id} is {writer_schema.get('name')}, expected {model.schema_name}",
                    schema_id,
                )
            current = avro_schema(model)
            # The same schema on both sides needs no resolution: fastavro then reads without comparing schemas.
            reader = _Reader(fastavro.parse_schema(writer_schema),
                             None if writer_schema == current else fastavro.parse_schema(current))
            with self._lock:
                self._readers[(schema_id, model)] = reader
        return reader

    def needs_lookup(self, payload: bytes | None, model: type[Event]) -> bool:
        """Whether decoding `payload` may ask the registry over the network (then run it off the event loop)."""
        if not payload or len(payload) < _HEADER.size:
            return False
        _, schema_id = _HEADER.unpack_from(payload)
        return (schema_id, model) not in self._readers and not isinstance(self._registry, FileRegistry)

    def decode(self, payload: bytes | None, model: type[E]) -> E:
        """The event in `payload`; `DecodeError` for a payload that can never decode (a dead letter),
        `RegistryUnavailable` when the registry could not be asked (transient: retry later)."""
        datum, schema_id = self.decode_datum(payload, model)
        return self.validate(datum, model, schema_id)

    @staticmethod
    def validate(datum: dict[str, Any], model: type[E], schema_id: int | None) -> E:
        """The model of a decoded datum; `DecodeError` (invalid) when the model refuses it."""
        try:
            return from_datum(model, datum)
        except ValidationError as exc:
            raise DecodeError(DeadLetterKind.invalid, _summarise(exc), schema_id) from exc

    def decode_datum(self, payload: bytes | None, model: type[Event]) -> tuple[dict[str, Any], int]:
        """The Avro record in `payload`, resolved to `model`'s schema, and the writer schema id; not yet validated
        (the sink checks the values itself, see streams/sink_rows.py). Same errors as `decode`."""
        if not payload or len(payload) < _HEADER.size:
            raise DecodeError(DeadLetterKind.undecodable, "payload shorter than the 5-byte wire header")
        magic, schema_id = _HEADER.unpack_from(payload)
        if magic != MAGIC:
            raise DecodeError(DeadLetterKind.undecodable, f"magic byte {magic}, expected 0 (not Confluent Avro)")
        reader = self._reader(schema_id, model)
        buf = io.BytesIO(payload)
        buf.seek(_HEADER.size)
        try:
            datum = fastavro.schemaless_reader(buf, reader.writer, reader.reader)
        except Exception as exc:
            raise DecodeError(DeadLetterKind.undecodable, f"Avro body does not decode: {exc!r}", schema_id) from exc
        if buf.tell() != len(payload):
            raise DecodeError(
                DeadLetterKind.undecodable,
                f"{len(payload) - buf.tell()} trailing bytes after the Avro body",
                schema_id,
            )
        if not isinstance(datum, dict):  # every registered schema is a record, so this is a foreign schema
            raise DecodeError(DeadLetterKind.undecodable, "Avro body is not a record", schema_id)
        return datum, schema_id


def _summarise(exc: ValidationError) -> str:
    parts = [f"{'.'.join(str(p) for p in e['loc']) or '<event>'}: {e['msg']}" for e in exc.errors()[:5]]
    more = exc.error_count() - len(parts)
    return "schema-invalid: " + "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
