"""Grafana dashboards as code: one module per dashboard, rendered to dashboards/*.json by `dashboards generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from servicepulse.domain.parameters import Parameters

from . import (
    complaints,
    contact_centre,
    finance,
    lead_times,
    payment_controls,
    payroll,
    pipeline_health,
    productivity,
    reviews,
)
from .panels import Dashboard, render, to_text

__all__ = ["DASHBOARDS", "generate", "write_dashboards"]

# Every generated dashboard, in the order of their files. A new dashboard is one module and one line here.
DASHBOARDS: tuple[Dashboard, ...] = (
    complaints.DASHBOARD,
    contact_centre.DASHBOARD,
    finance.DASHBOARD,
    lead_times.DASHBOARD,
    payment_controls.DASHBOARD,
    payroll.DASHBOARD,
    pipeline_health.DASHBOARD,
    productivity.DASHBOARD,
    reviews.DASHBOARD,
)


def generate(parameters: Parameters) -> dict[str, dict[str, Any]]:
    """Every dashboard as Grafana JSON, by file name."""
    return {spec.file: render(spec, parameters) for spec in DASHBOARDS}


def write_dashboards(folder: Path, parameters: Parameters, write: bool = True) -> list[str]:
    """Write (or with write=False only compare) every dashboard file; returns the files that differed.

    A JSON file in `folder` that no module generates is reported too ("not generated"): hand-written
    dashboards would drift from the parameters unseen, so there are none.
    """
    differed = []
    for name, dashboard in generate(parameters).items():
        path, text = folder / name, to_text(dashboard)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            differed.append(name)
            if write:
                path.write_text(text, encoding="utf-8")
    known = {spec.file for spec in DASHBOARDS}
    differed += [f"{p.name} (not generated)" for p in sorted(folder.glob("*.json")) if p.name not in known]
    return differed
