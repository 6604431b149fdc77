"""Business targets and rule thresholds, read from `parameters.toml` (and an operator's override file) into typed
values that remember where each one came from."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "DEFAULT_FILE",
    "OVERRIDE_FILE",
    "Parameter",
    "ParameterError",
    "Parameters",
    "QueueTarget",
    "RuleParameters",
    "default_parameters",
    "load_parameters",
]

# Where a value came from, as `servicepulse rules` shows it.
DEFAULT_FILE = "default file"
OVERRIDE_FILE = "override file"


class ParameterError(ValueError):
    """A parameters file that cannot be used: unknown rule or parameter, wrong type, missing value."""


@dataclass(frozen=True)
class Parameter:
    """One named value of a rule, with its unit, its meaning and its source."""

    name: str
    value: Any
    unit: str = ""
    description: str = ""
    source: str = DEFAULT_FILE

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameter:
        return self  # immutable; its mapping values are read-only proxies, which deepcopy cannot copy

    def plain(self) -> Any:
        """The value as JSON can hold it: sets as sorted lists, mappings as dicts."""
        if isinstance(self.value, frozenset):
            return sorted(self.value)
        if isinstance(self.value, Mapping):
            return dict(self.value)
        return self.value


@dataclass(frozen=True)
class RuleParameters:
    """What the parameters file says about one rule: its version and its parameters."""

    rule_id: str
    version: int
    parameters: tuple[Parameter, ...] = ()
    version_source: str = DEFAULT_FILE

    def __deepcopy__(self, memo: dict[int, Any]) -> RuleParameters:
        return self  # immutable, like its parameters


@dataclass(frozen=True)
class QueueTarget:
    """Service targets of one answer group."""

    threshold_s: int = 60
    service_level: float = 0.85
    fcr: float = 0.80
    short_abandon_s: int = 5


@dataclass(frozen=True)
class Parameters:
    """Everything in the parameters file(s); `files` lists what was read, default first."""

    office_opens: time
    office_closes: time
    sla_default: QueueTarget
    sla_queues: Mapping[str, QueueTarget]
    rules: Mapping[str, RuleParameters]
    files: tuple[str, ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)  # office_hours, sla.default, sla.queues.<q>
    # Service-agreement targets that no single rule owns (productivity per FTE, the yearly 9894 goal): read by
    # views, dashboards and the report through the `business_targets` table.
    targets: Mapping[str, Parameter] = field(default_factory=dict)
    # Suspense accounts followed to clearing: account -> (role, note); written to `finance_suspense_accounts`.
    suspense_accounts: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Review cause codes -> (Swedish label, English label), and the version of that list; written to `review_causes`.
    review_causes: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    review_causes_version: int = 0

    def __deepcopy__(self, memo: dict[int, Any]) -> Parameters:
        return self  # immutable, like its parts

    def rule(self, rule_id: str) -> RuleParameters:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise ParameterError(f"rule {rule_id!r} is not in the parameters file") from None

    def value(self, rule_id: str, name: str) -> Any:
        for p in self.rule(rule_id).parameters:
            if p.name == name:
                return p.value
        raise ParameterError(f"rule {rule_id!r} has no parameter {name!r}")

    def target(self, name: str) -> Any:
        try:
            return self.targets[name].value
        except KeyError:
            raise ParameterError(f"target {name!r} is not in the parameters file") from None

    def queue_target(self, queue: str) -> QueueTarget:
        return self.sla_queues.get(queue, self.sla_default)

    @property
    def case_limits(self) -> Mapping[str, int]:
        """Lead time 'day 1-N' per case type (the `contact.case_lead_time` rule's limits)."""
        limits: Mapping[str, int] = self.value("contact.case_lead_time", "limits")
        return limits

    @property
    def ack_office_hours(self) -> float:
        """Acknowledgement limit of a complaint, office hours (the `complaints.ack_deadline` rule)."""
        return float(self.value("complaints.ack_deadline", "office_hours"))


def _freeze(value: Any) -> Any:
    # Lists become sets (every list parameter is a set of names) and tables read-only mappings, so a rule
    # holding them stays immutable.
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    if isinstance(value, dict):
        return MappingProxyType({str(k): v for k, v in value.items()})
    return value


def _same_type(default: Any, new: Any) -> bool:
    if isinstance(default, bool) or isinstance(new, bool):
        return isinstance(default, bool) and isinstance(new, bool)
    if isinstance(default, float):
        return isinstance(new, int | float)
    if isinstance(default, int):
        return isinstance(new, int)
    if isinstance(default, frozenset):
        return isinstance(new, list)
    if isinstance(default, Mapping):
        return isinstance(new, dict)
    return isinstance(new, type(default))


def _queue(doc: Any, where: str, base: QueueTarget = QueueTarget()) -> QueueTarget:
    if not isinstance(doc, dict):
        raise ParameterError(f"{where}: expected a table")
    unknown = set(doc) - {"threshold_s", "service_level", "fcr", "short_abandon_s"}
    if unknown:
        raise ParameterError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {k: (float(v) if k in ("service_level", "fcr") else int(v)) for k, v in doc.items()}
    return replace(base, **values)


def _parse_default(doc: dict[str, Any], label: str) -> Parameters:
    office = doc.get("office_hours", {})
    sla = doc.get("sla", {})
    default = _queue(sla.get("default", {}), "sla.default")
    queues = {q: _queue(t, f"sla.queues.{q}", default) for q, t in sla.get("queues", {}).items()}
    rules = {}
    for rule_id, body in doc.get("rules", {}).items():
        if "version" not in body:
            raise ParameterError(f"{label}: rule {rule_id!r} has no version")
        params = []
        for name, spec in body.items():
            if name == "version":
                continue
            params.append(_parameter(name, spec, f"{label}: {rule_id}.{name}"))
        rules[rule_id] = RuleParameters(rule_id, int(body["version"]), tuple(params), DEFAULT_FILE)
    sources = {"office_hours": DEFAULT_FILE, "sla.default": DEFAULT_FILE,
               **{f"sla.queues.{q}": DEFAULT_FILE for q in queues}}
    opens, closes = office.get("opens", time(8)), office.get("closes", time(16, 30))
    if not isinstance(opens, time) or not isinstance(closes, time) or closes <= opens:
        raise ParameterError(f"{label}: office_hours must be two times of day, closes after opens")
    targets = {name: _parameter(name, spec, f"{label}: targets.{name}")
               for name, spec in doc.get("targets", {}).items()}
    accounts = {str(account): (str(body.get("role", "")), str(body.get("note", "")))
                for account, body in doc.get("finance", {}).get("suspense_accounts", {}).items()}
    causes_doc = dict(doc.get("review_causes", {}))
    causes_version = int(causes_doc.pop("version", 0))
    causes = {}
    for code, labels in causes_doc.items():
        if not isinstance(labels, dict) or not labels.get("sv") or not labels.get("en"):
            raise ParameterError(f"{label}: review_causes.{code} must be {{ sv = ..., en = ... }}")
        causes[str(code)] = (str(labels["sv"]), str(labels["en"]))
    if causes and causes_version < 1:
        raise ParameterError(f"{label}: review_causes has no version")
    return Parameters(opens, closes, default, MappingProxyType(queues), MappingProxyType(rules), (label,),
                      MappingProxyType(sources), MappingProxyType(targets), MappingProxyType(accounts),
                      MappingProxyType(causes), causes_version)


def _parameter(name: str, spec: Any, where: str) -> Parameter:
    if not isinstance(spec, dict) or "value" not in spec:
        raise ParameterError(f"{where} must be {{ value = ..., unit = ..., description = ... }}")
    return Parameter(name, _freeze(spec["value"]), str(spec.get("unit", "")), str(spec.get("description", "")),
                     DEFAULT_FILE)


def _apply_override(base: Parameters, doc: dict[str, Any], label: str) -> Parameters:
    unknown = set(doc) - {"office_hours", "sla", "rules", "targets"}
    if unknown:
        raise ParameterError(f"{label}: unknown section(s) {', '.join(sorted(unknown))}")
    sources = dict(base.sources)
    opens, closes = base.office_opens, base.office_closes
    if "office_hours" in doc:
        opens = doc["office_hours"].get("opens", opens)
        closes = doc["office_hours"].get("closes", closes)
        if not isinstance(opens, time) or not isinstance(closes, time) or closes <= opens:
            raise ParameterError(f"{label}: office_hours must be two times of day, closes after opens")
        sources["office_hours"] = OVERRIDE_FILE
    default, queues = base.sla_default, dict(base.sla_queues)
    sla = doc.get("sla", {})
    if "default" in sla:
        default = _queue(sla["default"], f"{label}: sla.default", default)
        sources["sla.default"] = OVERRIDE_FILE
    for q, t in sla.get("queues", {}).items():
        queues[q] = _queue(t, f"{label}: sla.queues.{q}", queues.get(q, default))
        sources[f"sla.queues.{q}"] = OVERRIDE_FILE
    rules = dict(base.rules)
    for rule_id, body in doc.get("rules", {}).items():
        if rule_id not in rules:
            raise ParameterError(f"{label}: unknown rule {rule_id!r}")
        current = rules[rule_id]
        known = {p.name: p for p in current.parameters}
        version, version_source = current.version, current.version_source
        changed = dict(known)
        for name, spec in body.items():
            if name == "version":
                version, version_source = int(spec), OVERRIDE_FILE
                continue
            if name not in known:
                raise ParameterError(f"{label}: rule {rule_id!r} has no parameter {name!r}; known: "
                                     f"{', '.join(sorted(known)) or 'none'}")
            value = spec["value"] if isinstance(spec, dict) and "value" in spec else spec
            if not _same_type(known[name].value, value):
                raise ParameterError(f"{label}: {rule_id}.{name} = {value!r} is not of the default's type")
            changed[name] = replace(known[name], value=_freeze(value), source=OVERRIDE_FILE)
        rules[rule_id] = RuleParameters(rule_id, version, tuple(changed[p.name] for p in current.parameters),
                                        version_source)
    targets = dict(base.targets)
    for name, spec in doc.get("targets", {}).items():
        if name not in targets:
            raise ParameterError(f"{label}: unknown target {name!r}; known: {', '.join(sorted(targets))}")
        value = spec["value"] if isinstance(spec, dict) and "value" in spec else spec
        if not _same_type(targets[name].value, value):
            raise ParameterError(f"{label}: targets.{name} = {value!r} is not of the default's type")
        targets[name] = replace(targets[name], value=_freeze(value), source=OVERRIDE_FILE)
    return Parameters(opens, closes, default, MappingProxyType(queues), MappingProxyType(rules),
                      (*base.files, label), MappingProxyType(sources), MappingProxyType(targets),
                      base.suspense_accounts, base.review_causes, base.review_causes_version)


@lru_cache(maxsize=1)
def default_parameters() -> Parameters:
    """The parameters file shipped with servicepulse (`servicepulse/domain/parameters.toml`)."""
    text = resources.files("servicepulse.domain").joinpath("parameters.toml").read_text(encoding="utf-8")
    return _parse_default(tomllib.loads(text), "servicepulse/domain/parameters.toml")


def load_parameters(override: Path | None = None) -> Parameters:
    """The default parameters, with the values of an operator's override file (if given) on top."""
    base = default_parameters()
    if override is None:
        return base
    try:
        doc = tomllib.loads(Path(override).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ParameterError(f"cannot read the parameters override file {override}: {exc}") from exc
    return _apply_override(base, doc, str(override))
