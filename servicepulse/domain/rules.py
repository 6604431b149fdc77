"""The rule vocabulary: one `Rule` shape (id, version, severity, parameters), and one way to build a finding and
an alert, each with a deterministic id and its evidence serialised the same way every time."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from servicepulse.schemas.events import Alert, AlertState, Finding, Severity

from .parameters import Parameter, ParameterError, Parameters, default_parameters

__all__ = [
    "Parameter",
    "Rule",
    "build_alert",
    "build_finding",
    "declare",
    "evidence",
    "stable_id",
]


def stable_id(*parts: object) -> str:
    """Same inputs, same id: a replayed event yields the same finding or alert, which the sink collapses."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def evidence(doc: Mapping[str, Any]) -> str:
    """Evidence as JSON with sorted keys, so the same facts always give the same text."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS).decode()


@dataclass(frozen=True)
class Rule:
    """A rule: what it is called, which version of its logic and parameters, how severe its findings are by
    default, what it checks, and its parameters (read with `rule["name"]`).

    The check itself is a pure function of the area (`streams/<area>/rules.py`) taking the rule as an argument.
    """

    rule_id: str
    version: int
    severity: Severity
    description: str
    parameters: tuple[Parameter, ...] = ()
    _values: Mapping[str, Any] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_values", {p.name: p.value for p in self.parameters})

    def __deepcopy__(self, memo: dict[int, Any]) -> Rule:
        # Immutable (its mappings are read-only proxies, which deepcopy cannot copy): a copy is the rule itself,
        # so a worker can deep-copy state that holds rules.
        return self

    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"rule {self.rule_id!r} has no parameter {name!r}") from None

    def params(self) -> dict[str, Any]:
        """Parameter values as JSON can hold them (sets as sorted lists): what findings record as evidence."""
        return {p.name: p.plain() for p in self.parameters}

    def with_values(self, source: str = "argument", **values: Any) -> Rule:
        """The same rule with some parameter values replaced (e.g. a replay with another threshold); `version`
        may be given too. Unknown names raise TypeError."""
        version = values.pop("version", self.version)
        unknown = set(values) - set(self._values)
        if unknown:
            raise TypeError(f"rule {self.rule_id!r} has no parameter(s) {', '.join(sorted(unknown))}; known: "
                            f"{', '.join(sorted(self._values)) or 'none'}")
        params = tuple(replace(p, value=values[p.name], source=source) if p.name in values else p
                       for p in self.parameters)
        return replace(self, version=int(version), parameters=params)

    def using(self, parameters: Parameters) -> Rule:
        """The same rule with its version and values from `parameters` (e.g. with an operator's override file)."""
        found = parameters.rule(self.rule_id)
        return replace(self, version=found.version, parameters=found.parameters)


def declare(rule_id: str, severity: Severity, description: str) -> Rule:
    """A rule with its version and parameters from the default parameters file (`domain/parameters.toml`)."""
    try:
        found = default_parameters().rule(rule_id)
    except ParameterError as exc:
        raise ParameterError(f"{exc}: every declared rule needs its version there") from None
    return Rule(rule_id, found.version, severity, description, found.parameters)


def build_finding(
    rule: Rule,
    *,
    key: Sequence[object],
    subject_type: str,
    subject_id: str,
    company: str | None,
    occurred_at: datetime,
    summary: str,
    evidence: Mapping[str, Any],
    source_event_ids: Sequence[str] = (),
    detected_at: datetime | None = None,
    severity: Severity | None = None,
) -> Finding:
    """A finding of `rule`; its id is `stable_id(rule id, version, *key)`, so the same facts give the same id.
    `severity` overrides the rule's (a rule may grade its findings, e.g. exact vs near duplicates)."""
    return Finding(
        finding_id=stable_id(rule.rule_id, rule.version, *key),
        rule_id=rule.rule_id,
        rule_version=rule.version,
        severity=severity or rule.severity,
        subject_type=subject_type,
        subject_id=subject_id,
        company=company,
        occurred_at=occurred_at,
        detected_at=detected_at or datetime.now(UTC),
        summary=summary,
        evidence_json=_dump(evidence),
        source_event_ids=list(source_event_ids),
    )


def build_alert(
    rule: Rule,
    key: str,
    state: AlertState,
    *,
    title: str,
    occurred_at: datetime,
    details: Mapping[str, Any],
    measured_value: float | None = None,
    target: float | None = None,
    unit: str | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    severity: Severity | None = None,
    id_parts: Sequence[object] | None = None,
) -> Alert:
    """A raise or resolve of the breach `key`. The id is `stable_id(*id_parts, state)` with `id_parts` = (key,)
    unless given, so re-deriving the alert after a restart sends the same id. Severity: the rule's on a raise,
    info on a resolve, unless given."""
    if severity is None:
        severity = rule.severity if state is AlertState.raised else Severity.info
    return Alert(
        alert_id=stable_id(*(id_parts if id_parts is not None else (key,)), state.value),
        alert_key=key,
        state=state,
        severity=severity,
        rule_id=rule.rule_id,
        rule_version=rule.version,
        title=title,
        measured_value=measured_value,
        target=target,
        unit=unit,
        window_start=window_start,
        window_end=window_end,
        occurred_at=occurred_at,
        details_json=_dump(details),
    )


_dump = evidence
