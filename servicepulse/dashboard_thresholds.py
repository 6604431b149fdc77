"""Colour thresholds of the Grafana dashboards, taken from the parameters file instead of typed into the JSON.

Grafana colours a panel from static steps in its JSON; the targets behind them (85 % answered within the
threshold, 80 % resolved at first contact, 3 % fewer 9894 postings) are business parameters.
`servicepulse dashboards generate` writes the steps from `servicepulse/domain/parameters.toml` (and an operator's
override file), and a unit test fails when the shipped JSON and the parameters file disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servicepulse.domain.parameters import Parameters

__all__ = ["THRESHOLDED_PANELS", "PanelThreshold", "apply_thresholds", "sync_dashboards", "threshold_steps"]

# Points below the target that still show amber where a panel has an amber band: near the target, not met.
AMBER_BAND_POINTS = 5.0


@dataclass(frozen=True)
class PanelThreshold:
    """One panel whose colours follow a target: which measure, and whether it has an amber band."""

    dashboard: str
    title: str
    # "service_level" or "fcr" (the default answer-group target, red below it) or "suspense_yearly_change"
    # (the yearly 9894 goal, red above it), as a percentage
    measure: str
    amber: bool = False


THRESHOLDED_PANELS = (
    PanelThreshold("contact-centre.json", "Answer groups — selected period", "service_level"),
    PanelThreshold("contact-centre.json", "Service level per 15 minutes", "service_level"),
    PanelThreshold("contact-centre.json", "Service level — selected period", "service_level", amber=True),
    PanelThreshold("contact-centre.json", "Resolved at first contact", "fcr"),
    PanelThreshold("finance.json", "9894 postings, year to date vs same period last year", "suspense_yearly_change"),
    PanelThreshold("finance.json", "9894 per company — year to date vs last year, against the goal",
                   "suspense_yearly_change"),
)


def _target_percent(parameters: Parameters, measure: str) -> float:
    if measure == "suspense_yearly_change":
        return round(float(parameters.target(measure)) * 100, 1)
    target = parameters.sla_default
    value = target.service_level if measure == "service_level" else target.fcr
    return round(value * 100, 1)


def _steps(measure: str, target: float, amber: bool) -> list[dict[str, Any]]:
    if measure == "suspense_yearly_change":  # fewer is better: green up to the goal, red from 0.1 point above
        return [{"color": "green", "value": None}, {"color": "red", "value": round(target + 0.1, 1)}]
    steps: list[dict[str, Any]] = [{"color": "red", "value": None}]
    if amber:
        steps.append({"color": "orange", "value": round(target - AMBER_BAND_POINTS, 1)})
    steps.append({"color": "green", "value": target})
    return steps


def threshold_steps(spec: PanelThreshold, parameters: Parameters) -> list[dict[str, Any]]:
    """The colour steps of one listed panel under `parameters` (what the generator writes into the panel)."""
    return _steps(spec.measure, _target_percent(parameters, spec.measure), spec.amber)


def _threshold_blocks(node: Any) -> Iterator[dict[str, Any]]:
    """Every `thresholds` object with numeric steps inside a panel (defaults and overrides)."""
    if isinstance(node, dict):
        steps = node.get("steps")
        if isinstance(steps, list) and any(s.get("value") not in (None, 0) for s in steps):
            yield node
        for value in node.values():
            yield from _threshold_blocks(value)
    elif isinstance(node, list):
        for value in node:
            yield from _threshold_blocks(value)


def apply_thresholds(name: str, dashboard: dict[str, Any], parameters: Parameters) -> list[str]:
    """Set the steps of every listed panel of `dashboard` from `parameters`; returns the panels changed."""
    changed = []
    wanted = {p.title: p for p in THRESHOLDED_PANELS if p.dashboard == name}
    for panel in dashboard.get("panels", []):
        spec = wanted.get(panel.get("title", ""))
        if spec is None:
            continue
        steps = threshold_steps(spec, parameters)
        for block in _threshold_blocks(panel):
            if block["steps"] != steps:
                block["steps"] = steps
                changed.append(spec.title)
    return changed


def sync_dashboards(folder: Path, parameters: Parameters, write: bool = True) -> list[str]:
    """Apply the thresholds to every dashboard in `folder`; returns "file / panel" of what differed."""
    differed = []
    for path in sorted(folder.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        changed = apply_thresholds(path.name, dashboard, parameters)
        differed += [f"{path.name} / {title}" for title in changed]
        if changed and write:
            path.write_text(json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return differed
