"""Derives Avro schemas from the pydantic event models, and converts events to and from Avro datums."""

from __future__ import annotations

import json
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel

from .events import EVENT_MODELS, Event

__all__ = [
    "NAMESPACE",
    "SCHEMA_DIR",
    "avro_file_name",
    "avro_schema",
    "canonical_json",
    "from_datum",
    "to_datum",
    "write_avsc_files",
]

E = TypeVar("E", bound=Event)

NAMESPACE = "se.servicepulse"
SCHEMA_DIR = Path(__file__).resolve().parent
DECIMAL_PRECISION = 18
DECIMAL_SCALE = 4


def avro_file_name(model: type[Event]) -> str:
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in model.schema_name).lstrip("_")
    return f"{snake}.avsc"


def _avro_type(annotation: Any, named: set[str]) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"only Optional[X] unions are supported, got {annotation}")
        return ["null", _avro_type(args[0], named)]
    if origin is list:
        (item,) = typing.get_args(annotation)
        return {"type": "array", "items": _avro_type(item, named)}
    if annotation is AwareDatetime or annotation is datetime:
        return {"type": "long", "logicalType": "timestamp-millis"}
    if annotation is date:
        return {"type": "int", "logicalType": "date"}
    if annotation is Decimal:
        return {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": DECIMAL_PRECISION,
            "scale": DECIMAL_SCALE,
        }
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        name = annotation.__name__
        if name in named:
            return name
        named.add(name)
        return {"type": "enum", "name": name, "symbols": [m.value for m in annotation]}
    simple = {str: "string", int: "long", bool: "boolean", float: "double", bytes: "bytes"}
    if annotation in simple:
        return simple[annotation]
    raise TypeError(f"no Avro mapping for {annotation!r}")


def avro_schema(model: type[Event]) -> dict[str, Any]:
    """The Avro record schema of an event model; field docs come from the pydantic descriptions."""
    named: set[str] = set()
    hints = typing.get_type_hints(model)
    fields: list[dict[str, Any]] = []
    for name, info in model.model_fields.items():
        avro_t = _avro_type(hints[name], named)
        field: dict[str, Any] = {"name": name, "type": avro_t}
        if info.description:
            field["doc"] = info.description
        if isinstance(avro_t, list):
            field["default"] = None
        fields.append(field)
    return {
        "type": "record",
        "name": model.schema_name,
        "namespace": NAMESPACE,
        "doc": (model.__doc__ or "").strip(),
        "fields": fields,
    }


def canonical_json(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write_avsc_files(directory: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for model in EVENT_MODELS:
        path = directory / avro_file_name(model)
        path.write_text(canonical_json(avro_schema(model)), encoding="utf-8")
        written.append(path)
    return written


def _quantize(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal(1).scaleb(-DECIMAL_SCALE))


def to_datum(event: BaseModel) -> dict[str, Any]:
    """A dict fastavro can write: enums as symbols, decimals at the schema's scale."""
    datum = dict(event.__dict__)
    for key, value in datum.items():
        if isinstance(value, StrEnum):
            datum[key] = value.value
        elif isinstance(value, Decimal):
            datum[key] = _quantize(value)
    return datum


def from_datum(model: type[E], datum: dict[str, Any]) -> E:
    """Validate a decoded datum into its model (raises pydantic.ValidationError)."""
    return model.model_validate(datum)
