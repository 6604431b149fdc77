"""Rows straight from decoded Avro datums, without a pydantic object per row: the Avro schema already fixes the
types, so only the models' semantic checks remain, compiled once per model into plain comparisons."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import annotated_types as at
from pydantic import AwareDatetime
from pydantic.fields import FieldInfo

from servicepulse.domain.personal_data import redact
from servicepulse.schemas.events import (
    DATE_MAX,
    DATE_MIN,
    DATETIME_MAX,
    DATETIME_MIN,
    INT32_FIELDS,
    INT64_MAX,
    INT64_MIN,
    STRING_MAX,
    CallEvent,
    Event,
    FindingReview,
    InvoicePosting,
    SampleReview,
)

__all__ = ["RowMaker", "row_maker"]

# Mirrors schemas.events: every int column is Int64 except these; long text fields may be larger.
_INT32 = (-(2**31), 2**31 - 1)
_LONG_FIELDS = frozenset({"evidence_json", "details_json", "payload"})
_LONG_MAX = 4 * 1024 * 1024

# A check returns the value to store, or raises _Unsure: the row then goes through pydantic, which either
# accepts it (the same values) or names the problem for the dead letter. A check may only be stricter than the
# model, never looser: that is what the unit test compares, field by field, on generated and mutated events.
Check = Callable[[Any], Any]


class _Unsure(Exception):
    pass


class Slow(Exception):
    """A model (or field) this module cannot check exactly: its rows always go through pydantic."""


def _bounds(info: FieldInfo) -> tuple[int | None, int | None, float | None, float | None, str | None,
                                     int | None, int | None]:
    min_len = max_len = None
    low = high = None
    pattern = None
    max_digits = decimal_places = None
    for meta in info.metadata:
        if isinstance(meta, at.MinLen):
            min_len = meta.min_length
        elif isinstance(meta, at.MaxLen):
            max_len = meta.max_length
        elif isinstance(meta, at.Ge):
            low = float(meta.ge)  # type: ignore[arg-type]
        elif isinstance(meta, at.Le):
            high = float(meta.le)  # type: ignore[arg-type]
        elif type(meta).__name__ == "_PydanticGeneralMetadata":
            found = dict(meta.__dict__)
            pattern = found.pop("pattern", None)
            max_digits = found.pop("max_digits", None)
            decimal_places = found.pop("decimal_places", None)
            if found:
                raise Slow(f"constraint {found}")
        else:
            raise Slow(f"constraint {meta!r}")
    return min_len, max_len, low, high, pattern, max_digits, decimal_places


def _field_check(name: str, info: FieldInfo) -> Check:
    annotation = info.annotation
    optional = False
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not NoneType]
        if len(args) != 1:
            raise Slow(f"{name}: union {annotation}")
        optional, annotation = True, args[0]
    min_len, max_len, low, high, pattern, max_digits, places = _bounds(info)
    check: Check
    if annotation is str:
        top = STRING_MAX if name not in _LONG_FIELDS else _LONG_MAX
        shortest = min_len or 0
        longest = min(max_len, top) if max_len is not None else top
        search = re.compile(pattern).search if pattern else None

        def check(v: Any) -> Any:
            if type(v) is not str or not shortest <= len(v) <= longest or (search and not search(v)):
                raise _Unsure
            return v
    elif annotation is bytes:
        top = _LONG_MAX if name in _LONG_FIELDS else STRING_MAX

        def check(v: Any) -> Any:
            if type(v) is not bytes or len(v) > top:
                raise _Unsure
            return v
    elif annotation is bool:
        def check(v: Any) -> Any:
            if type(v) is not bool:
                raise _Unsure
            return v
    elif annotation is int:
        lo, hi = _INT32 if name in INT32_FIELDS else (INT64_MIN, INT64_MAX)
        if low is not None:
            lo = max(lo, int(low) if low == int(low) else int(low) + 1)
        if high is not None:
            hi = min(hi, int(high))

        def check(v: Any) -> Any:
            if type(v) is not int or not lo <= v <= hi:
                raise _Unsure
            return v
    elif annotation is float:
        def check(v: Any) -> Any:
            if type(v) is not float or (low is not None and not v >= low) or (high is not None and not v <= high):
                raise _Unsure
            return v
    elif annotation is AwareDatetime or annotation is datetime:
        def check(v: Any) -> Any:
            if type(v) is not datetime or v.tzinfo is None or not DATETIME_MIN <= v <= DATETIME_MAX:
                raise _Unsure
            return v
    elif annotation is date:
        def check(v: Any) -> Any:
            if type(v) is not date or not DATE_MIN <= v <= DATE_MAX:
                raise _Unsure
            return v
    elif annotation is Decimal:
        if low is not None or high is not None:
            raise Slow(f"{name}: decimal bounds")

        def check(v: Any) -> Any:
            if type(v) is not Decimal or not v.is_finite():
                raise _Unsure
            sign_digits_exp = v.as_tuple()
            exponent = int(sign_digits_exp.exponent)
            digits = len(sign_digits_exp.digits)
            whole = max(digits + exponent, 0)
            scale = max(-exponent, 0)
            if (places is not None and scale > places) or (max_digits is not None and max(digits, whole + scale)
                                                             > max_digits):
                raise _Unsure
            if max_digits is not None and places is not None and whole > max_digits - places:
                raise _Unsure
            return v
    elif isinstance(annotation, type) and issubclass(annotation, StrEnum):
        allowed = frozenset(m.value for m in annotation)

        def check(v: Any) -> Any:
            if type(v) is not str or v not in allowed:
                raise _Unsure
            return v
    elif get_origin(annotation) is list and get_args(annotation) == (str,):
        def check(v: Any) -> Any:
            if type(v) is not list or any(type(i) is not str or len(i) > STRING_MAX for i in v):
                raise _Unsure
            return v
    else:
        raise Slow(f"{name}: type {annotation}")
    if (min_len is not None or max_len is not None or pattern) and annotation is not str:
        raise Slow(f"{name}: length or pattern on {annotation}")
    if not optional:
        return check
    inner = check

    def nullable(v: Any) -> Any:
        return None if v is None else inner(v)

    return nullable


# Each model's own validators, as the model states them (schemas/events.py); a model with a validator not in this
# table always goes through pydantic. `_fits_column` is the generic column check compiled above.
RowCheck = Callable[[list[Any]], None]


def _call_offered_before(fields: tuple[str, ...]) -> RowCheck:
    offered, occurred = fields.index("offered_at"), fields.index("occurred_at")

    def check(row: list[Any]) -> None:
        if row[offered] is not None and row[offered] > row[occurred]:
            raise _Unsure

    return check


def _redacted(*names: str) -> Callable[[tuple[str, ...]], RowCheck]:
    """The models' personnummer validators: each named text column masked with `redact`, as the validator does."""

    def make(fields: tuple[str, ...]) -> RowCheck:
        columns = tuple(fields.index(name) for name in names)

        def check(row: list[Any]) -> None:
            for i in columns:
                if row[i]:
                    row[i] = redact(row[i])

        return check

    return make


KNOWN_VALIDATORS: dict[tuple[type[Event], str], Callable[[tuple[str, ...]], RowCheck]] = {
    (CallEvent, "_offered_before"): _call_offered_before,
    (InvoicePosting, "_no_personnummer_in_text"): _redacted("text"),
    (FindingReview, "_no_personnummer"): _redacted("note", "reviewer"),
    (SampleReview, "_no_personnummer"): _redacted("note", "reviewer"),
}


class RowMaker:
    """The column values of a model from its decoded datum, or None when pydantic must decide."""

    def __init__(self, model: type[Event]) -> None:
        self.model = model
        self.fields = tuple(model.model_fields)
        self.checks: tuple[tuple[str, Check], ...] | None
        self.row_checks: list[RowCheck] = []
        self.why_slow: str | None = None
        try:
            self.checks = tuple((name, _field_check(name, info)) for name, info in model.model_fields.items())
            decorators = model.__pydantic_decorators__
            names = (set(decorators.field_validators) | set(decorators.model_validators)
                     | set(decorators.root_validators) | set(decorators.validators))
            for name in sorted(names - {"_fits_column"}):
                make = next((m for (owner, n), m in KNOWN_VALIDATORS.items()
                             if n == name and issubclass(model, owner)), None)
                if make is None:
                    raise Slow(f"validator {name}")
                self.row_checks.append(make(self.fields))
        except Slow as exc:
            self.checks, self.why_slow = None, str(exc)

    def row(self, datum: dict[str, Any]) -> list[Any] | None:
        checks = self.checks
        if checks is None or len(datum) != len(checks):
            return None
        try:
            row = [check(datum[name]) for name, check in checks]
            for row_check in self.row_checks:
                row_check(row)
        except (_Unsure, KeyError):
            return None
        return row


_MAKERS: dict[type[Event], RowMaker] = {}


def row_maker(model: type[Event]) -> RowMaker:
    maker = _MAKERS.get(model)
    if maker is None:
        maker = _MAKERS[model] = RowMaker(model)
    return maker
