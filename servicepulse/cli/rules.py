"""`rules`: every rule with its id, version, severity and description, and each parameter with its value and
where that value came from (the default parameters file or the operator's override file)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from .common import fail, settings_and_logging

if TYPE_CHECKING:
    from servicepulse.domain.parameters import Parameter, Parameters
    from servicepulse.domain.rules import Rule

__all__ = ["register", "rules"]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command(help="List every rule: id, version, severity, parameters with their values and sources.")(rules)


def _shown(p: Parameter) -> str:
    """A value for people: money in Swedish kronor next to the öre, sets and mappings spelled out."""
    from servicepulse.domain.money import format_sek

    value = p.plain()
    if p.unit == "öre" and isinstance(value, int):
        return f"{value} ({format_sek(value)})"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value).lower() if isinstance(value, bool) else str(value)


def _document(found: list[Rule], parameters: Parameters) -> dict[str, Any]:
    return {
        "files": list(parameters.files),
        "rules": [
            {"rule_id": r.rule_id, "version": r.version, "version_source": parameters.rule(r.rule_id).version_source,
             "severity": r.severity.value, "description": r.description,
             "parameters": [{"name": p.name, "value": p.plain(), "unit": p.unit, "description": p.description,
                             "source": p.source} for p in r.parameters]}
            for r in found
        ],
        "targets": {
            "office_hours": {"opens": parameters.office_opens.isoformat("minutes"),
                             "closes": parameters.office_closes.isoformat("minutes"),
                             "source": parameters.sources.get("office_hours")},
            "sla_default": {**vars(parameters.sla_default), "source": parameters.sources.get("sla.default")},
            "sla_queues": {q: {**vars(t), "source": parameters.sources.get(f"sla.queues.{q}")}
                           for q, t in sorted(parameters.sla_queues.items())},
        },
    }


def rules(
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table (for people) or json"),
) -> None:
    from servicepulse.domain.parameters import ParameterError

    settings = settings_and_logging()
    try:
        parameters = settings.parameters()
    except ParameterError as exc:
        fail(str(exc))
    from servicepulse.streams.catalogue import catalogue

    found = catalogue(parameters)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(_document(found, parameters), ensure_ascii=False, indent=2) + "\n")
        return
    out = Console(width=160)
    out.print(f"Parameters from: {' + '.join(parameters.files)}")
    table = Table(show_lines=True)
    for column in ("rule", "version", "severity", "description", "parameter", "value", "source"):
        table.add_column(column, overflow="fold")
    for r in found:
        params = r.parameters or ()
        names = "\n".join(f"{p.name} [{p.unit}]" if p.unit else p.name for p in params) or "-"
        values = "\n".join(_shown(p) for p in params) or "-"
        sources = "\n".join(p.source for p in params) or "-"
        table.add_row(r.rule_id, str(r.version), r.severity.value, r.description, names, values, sources)
    out.print(table)
    targets = Table(title="Service targets per answer group")
    for column in ("answer group", "answered within (s)", "service level", "FCR", "short abandon (s)", "source"):
        targets.add_column(column)
    rows = [("(not listed)", parameters.sla_default, parameters.sources.get("sla.default", "")),
            *((q, t, parameters.sources.get(f"sla.queues.{q}", "")) for q, t in sorted(parameters.sla_queues.items()))]
    for queue, t, source in rows:
        targets.add_row(queue, str(t.threshold_s), f"{t.service_level:.0%}", f"{t.fcr:.0%}", str(t.short_abandon_s),
                        source)
    out.print(targets)
    out.print(f"Office hours {parameters.office_opens:%H:%M}-{parameters.office_closes:%H:%M} on Swedish working "
              f"days ({parameters.sources.get('office_hours')})")
