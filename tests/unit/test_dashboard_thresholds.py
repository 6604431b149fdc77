"""Dashboard colours follow the parameters file: the shipped JSON agrees with it, and a changed target moves them."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from servicepulse.dashboard_thresholds import THRESHOLDED_PANELS, apply_thresholds, sync_dashboards
from servicepulse.dashboards import generate
from servicepulse.domain.parameters import default_parameters

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def test_shipped_dashboards_agree_with_the_parameters_file() -> None:
    assert sync_dashboards(DASHBOARDS, default_parameters(), write=False) == []


def test_every_listed_panel_exists_and_every_coloured_panel_is_listed() -> None:
    listed = {(p.dashboard, p.title) for p in THRESHOLDED_PANELS}
    found = set()
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            # 0 and 1 are structural ("any difference is red"), not targets; every other step is a target.
            if any(v not in (None, 0, 1) for v in _step_values(panel)):
                found.add((path.name, panel["title"]))
    assert listed == found


def _step_values(node: object) -> list[object]:
    if isinstance(node, dict):
        own = [s.get("value") for s in node["steps"]] if isinstance(node.get("steps"), list) else []
        return own + [v for child in node.values() for v in _step_values(child)]
    if isinstance(node, list):
        return [v for child in node for v in _step_values(child)]
    return []


def test_a_changed_target_moves_the_colours(tmp_path: Path) -> None:
    folder = tmp_path / "dashboards"
    shutil.copytree(DASHBOARDS, folder)
    base = default_parameters()
    stricter = replace(base, sla_default=replace(base.sla_default, service_level=0.9, fcr=0.75))
    changed = sync_dashboards(folder, stricter)
    assert "contact-centre.json / Service level — selected period" in changed
    dashboard = json.loads((folder / "contact-centre.json").read_text(encoding="utf-8"))
    panel = next(p for p in dashboard["panels"] if p["title"] == "Service level — selected period")
    assert [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 85.0, 90.0]
    fcr = next(p for p in dashboard["panels"] if p["title"] == "Resolved at first contact")
    assert [s["value"] for s in fcr["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 75.0]
    assert apply_thresholds("contact-centre.json", dashboard, stricter) == []  # applying twice changes nothing


def test_the_generator_writes_the_changed_target() -> None:
    base = default_parameters()
    stricter = replace(base, sla_default=replace(base.sla_default, service_level=0.9))
    dashboard = generate(stricter)["contact-centre.json"]
    panel = next(p for p in dashboard["panels"] if p["title"] == "Service level — selected period")
    assert [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 85.0, 90.0]
    table = next(p for p in dashboard["panels"] if p["title"] == "Answer groups — selected period")
    [override] = [o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "service_level_pct"]
    [steps] = [p["value"]["steps"] for p in override["properties"] if p["id"] == "thresholds"]
    assert [s["value"] for s in steps] == [None, 90.0]
    assert apply_thresholds("contact-centre.json", dashboard, stricter) == []
