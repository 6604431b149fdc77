"""Dashboards as code: the committed JSON is what the generator writes, parameters reach it, and no panel reads
personal data or points at another datasource than the provisioned one."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from servicepulse.dashboards import DASHBOARDS, generate, write_dashboards
from servicepulse.dashboards.panels import DATASOURCE, Panel
from servicepulse.domain.parameters import default_parameters, load_parameters

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "dashboards"
MIGRATIONS = ROOT / "connectors" / "migrations"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
# Words that name personal data wherever they appear (besides the restricted tables' own columns).
PERSONAL = ("personnummer", "employee_id", "agent_id", "payload", "source_key")
# Columns of a restricted table that are not personal data by themselves (bookkeeping every table has).
BOOKKEEPING = {"source", "updated_at"}


def _all_sql(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                yield inner["title"], target["rawSql"]
    for var in dashboard.get("templating", {}).get("list", []):
        yield f"variable {var['name']}", var["query"]


def test_regenerating_gives_no_diff() -> None:
    differed = write_dashboards(FOLDER, default_parameters(), write=False)
    assert differed == [], f"run `servicepulse dashboards generate`: {differed}"


def test_check_reports_a_hand_edit_and_generate_repairs_it(tmp_path: Path) -> None:
    folder = tmp_path / "dashboards"
    shutil.copytree(FOLDER, folder)
    edited = json.loads((folder / "finance.json").read_text(encoding="utf-8"))
    edited["panels"][1]["title"] = "edited in the UI"
    (folder / "finance.json").write_text(json.dumps(edited), encoding="utf-8")
    (folder / "hand-written.json").write_text("{}", encoding="utf-8")
    assert write_dashboards(folder, default_parameters(), write=False) == ["finance.json",
                                                                        "hand-written.json (not generated)"]
    write_dashboards(folder, default_parameters())
    assert (folder / "finance.json").read_bytes() == (FOLDER / "finance.json").read_bytes()


def test_a_rule_parameter_reaches_the_panel_sql(tmp_path: Path) -> None:
    override = tmp_path / "override.toml"
    override.write_text('[rules."gl.suspense_aged"]\nmax_working_days = 15\n\n'
                        '[rules."contact.email_deadline"]\nworking_days = 2\n', encoding="utf-8")
    changed = generate(load_parameters(override))
    shipped = generate(default_parameters())
    sql = dict(_all_sql(changed["payment-controls.json"]))["Open 9894 items per company and age"]
    assert "age_working_days > 15" in sql
    assert "age_working_days > 10" in dict(_all_sql(shipped["payment-controls.json"]))[
        "Open 9894 items per company and age"]
    assert "2 * office_day_hours" in dict(_all_sql(changed["lead-times.json"]))[
        "E-mail lead time per answer group vs the limit"]
    assert "{{" not in json.dumps(shipped), "a parameter placeholder was left in a panel"


def test_every_sql_file_belongs_to_a_panel_and_files_and_uids_are_unique() -> None:
    used = {(spec.module, item.sql) for spec in DASHBOARDS for item in spec.items if isinstance(item, Panel)}
    root = resources.files("servicepulse.dashboards").joinpath("sql")
    files = {(folder.name, path.name.removesuffix(".sql")) for folder in root.iterdir() if folder.is_dir()
             for path in folder.iterdir() if path.name.endswith(".sql")}
    assert files == used, f"unused: {files - used}, missing: {used - files}"
    assert len({s.file for s in DASHBOARDS}) == len({s.uid for s in DASHBOARDS}) == len(DASHBOARDS)


def test_reviews_have_their_own_dashboard() -> None:
    """The review panels read views that arrive with the findings review; they live in reviews.json only."""
    dashboards = generate(default_parameters())
    for name, dashboard in dashboards.items():
        mentions = any(re.search(r"\bv_(review_status_by_rule|error_causes_monthly)\b", sql)
                       for _, sql in _all_sql(dashboard))
        assert mentions == (name == "reviews.json"), name


# --------------------------------------------------------------------------- datasource and provisioning


def test_every_panel_uses_the_provisioned_clickhouse_datasource() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "clickhouse.yaml").read_text(encoding="utf-8"))
    [source] = provisioned["datasources"]
    assert {"type": source["type"], "uid": source["uid"]} == DATASOURCE
    for name, dashboard in generate(default_parameters()).items():
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                continue
            assert panel["datasource"] == DATASOURCE, f"{name} / {panel['title']}"
            assert all(t["datasource"] == DATASOURCE for t in panel["targets"]), f"{name} / {panel['title']}"
        for var in dashboard.get("templating", {}).get("list", []):
            assert var["datasource"] == DATASOURCE, f"{name} / {var['name']}"


def test_grafana_loads_the_generated_folder() -> None:
    """The provider reads the folder docker compose mounts the repository's dashboards/ on, and Grafana 11.6
    (the SDK's build) is the image."""
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "servicepulse.yaml").read_text(encoding="utf-8"))
    [entry] = provider["providers"]
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))
    grafana = compose["services"]["grafana"]
    assert f"../dashboards:{entry['options']['path']}:ro" in grafana["volumes"]
    assert grafana["image"] == "grafana/grafana:11.6.0"
    assert "grafana-clickhouse-datasource" in grafana["environment"]["GF_INSTALL_PLUGINS"]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(entry["options"]["path"] + "/") and (FOLDER / Path(home).name).is_file()


# --------------------------------------------------------------------------- personal data


def restricted_schema() -> tuple[set[str], set[str]]:
    """Tables the migrations mark RESTRICTED (a `-- RESTRICTED` comment right above CREATE TABLE), and their
    columns, read from the migrations so a column added there is covered here."""
    tables: set[str] = set()
    columns: set[str] = set()
    pattern = re.compile(r"--\s*RESTRICTED\b[^\n]*\n(?:--[^\n]*\n)*CREATE TABLE IF NOT EXISTS (\w+)\s*\((.*?)\n\)",
                         re.DOTALL)
    for path in sorted(MIGRATIONS.glob("*.sql")):
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            tables.add(match.group(1))
            columns |= {line.split()[0] for line in match.group(2).splitlines() if line.strip()}
    return tables, columns - BOOKKEEPING


def personal_data_in(sql: str) -> list[str]:
    tables, columns = restricted_schema()
    words = set(re.findall(r"\w+", sql.lower()))
    return sorted((words & {w.lower() for w in tables | columns}) | {w for w in PERSONAL if w in sql.lower()})


def test_the_restricted_schema_is_found() -> None:
    tables, columns = restricted_schema()
    assert "payroll_people_restricted" in tables
    assert {"personnummer", "first_name", "last_name", "birth_date", "bank_hash", "protected", "pseudonym"} <= columns


@pytest.mark.parametrize("sql", [
    "SELECT count() FROM payroll_people_restricted",
    "SELECT first_name, count() FROM x GROUP BY first_name",
    "SELECT p.pseudonym FROM findings AS p",
    "SELECT employee_id FROM payroll_lines FINAL",
])
def test_the_scan_catches_personal_data(sql: str) -> None:
    assert personal_data_in(sql)


def test_no_generated_panel_selects_personal_data() -> None:
    for name, dashboard in generate(default_parameters()).items():
        for where, sql in _all_sql(dashboard):
            assert not personal_data_in(sql), f"{name} / {where}: {personal_data_in(sql)}"
    root = resources.files("servicepulse.dashboards").joinpath("sql")
    for folder in root.iterdir():  # the SQL files too, their comments included
        for path in folder.iterdir() if folder.is_dir() else ():
            assert not personal_data_in(path.read_text(encoding="utf-8")), f"{folder.name}/{path.name}"
