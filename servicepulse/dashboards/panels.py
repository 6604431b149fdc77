"""Panel and dashboard specs, and their rendering to Grafana JSON with grafana-foundation-sdk.

A dashboard module lists its panels as plain `Panel` / `Row` values (easy to read, easy to extend); this module
turns them into the SDK's builders, lays them out on Grafana's 24-column grid and serialises the result. The
panel SQL lives in `sql/<dashboard module>/<name>.sql` beside the modules. Colour thresholds that follow a
business target are not written here: `render` takes them from the parameters through
`servicepulse.dashboard_thresholds`, so one parameters file drives rules, views and dashboards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Literal

from grafana_foundation_sdk.builders import barchart, bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model

from servicepulse.dashboard_thresholds import THRESHOLDED_PANELS, threshold_steps
from servicepulse.domain.parameters import Parameters

__all__ = ["DATASOURCE", "Column", "Dashboard", "Panel", "Row", "Variable", "panel_sql", "render"]

# The provisioned ClickHouse datasource (deploy/grafana/provisioning/datasources/clickhouse.yaml): every panel
# names it by uid, so a Grafana with that provisioning finds it whatever its display name.
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "clickhouse"}
PANEL_TYPES = ("timeseries", "table", "stat", "bargauge", "barchart")
Kind = Literal["timeseries", "table", "stat", "bargauge", "barchart"]
Step = tuple[str, float | None]  # (colour, from value); the first step's value is None (-infinity)


@dataclass(frozen=True)
class Column:
    """Display settings of one table column (a Grafana field override by name, or by regexp)."""

    name: str
    display: str | None = None
    unit: str | None = None
    decimals: int | None = None
    color_text: bool = False
    steps: tuple[Step, ...] = ()
    # colours from the business target of this panel in THRESHOLDED_PANELS instead of `steps`
    target: bool = False
    value_colors: tuple[tuple[str, str], ...] = ()  # (value, colour): a value mapping
    regexp: bool = False


@dataclass(frozen=True)
class Panel:
    """One panel: what it shows (SQL file, kind) and how (unit, legend, columns ...)."""

    kind: Kind
    title: str
    sql: str  # file name (without .sql) in the dashboard's SQL folder
    description: str
    w: int
    h: int
    unit: str | None = None
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    label: str | None = None  # series name from this label of the time series
    bars: bool = False
    stacked: bool = False
    legend: tuple[str, ...] = ("sum",)
    interval: str | None = None
    repeat: str | None = None  # a template variable: one panel per selected value
    columns: tuple[Column, ...] = ()
    steps: tuple[Step, ...] = (("green", None),)
    threshold_line: bool = False
    filterable: bool = True
    sort_by: str | None = None  # tables: newest first on this column
    x_field: str | None = None  # bar charts
    color_mode: Literal["value", "background"] = "value"
    reduce_values: bool = False  # stat / bar gauge: one value per row instead of the last value


@dataclass(frozen=True)
class Row:
    title: str


@dataclass(frozen=True)
class Variable:
    """A multi-select query variable with "All"."""

    name: str
    label: str
    query: str


@dataclass(frozen=True)
class Dashboard:
    module: str  # the Python module's short name: also the folder of its SQL files
    file: str
    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    refresh: str
    time_from: str
    items: tuple[Panel | Row, ...]
    variables: tuple[Variable, ...] = field(default=())


_PARAMETER = re.compile(r"\{\{\s*(?P<rule>[\w.]+):(?P<name>\w+)\s*\}\}")


def panel_sql(module: str, name: str, parameters: Parameters) -> str:
    """The SQL of one panel, read from the package (so an installed servicepulse generates the same JSON).

    The file's leading `--` lines document the file and are left out of the panel (its description says what
    the panel shows); `{{rule_id:parameter}}` is replaced by that rule parameter's value, so a limit changed
    in the parameters file reaches the panel on the next `dashboards generate`.
    """
    text = resources.files("servicepulse.dashboards").joinpath("sql", module, f"{name}.sql").read_text("utf-8")
    lines = text.strip().splitlines()
    while lines and lines[0].startswith("--"):
        lines.pop(0)

    def value(match: re.Match[str]) -> str:
        found = parameters.value(match.group("rule"), match.group("name"))
        if isinstance(found, bool) or not isinstance(found, int | float):
            raise ValueError(f"{module}/{name}.sql: {match.group(0)} is not a number: {found!r}")
        return str(found)

    return _PARAMETER.sub(value, "\n".join(lines).strip())


# --------------------------------------------------------------------------- ClickHouse query (no SDK builder)


class ClickHouseQuery(cogvariants.Dataquery):
    """A raw-SQL query of the ClickHouse plugin 4.x: the SDK ships no builder for this datasource."""

    def __init__(self, sql: str, table_format: bool) -> None:
        self.sql = sql
        self.table_format = table_format

    def to_json(self) -> dict[str, object]:
        return {
            "refId": "A",
            "datasource": dict(DATASOURCE),
            "editorType": "sql",
            "rawSql": self.sql,
            "format": 1 if self.table_format else 0,  # the plugin's Format enum: 0 time series, 1 table
            "queryType": "table" if self.table_format else "timeseries",
        }


class ClickHouseQueryBuilder(cogbuilder.Builder[ClickHouseQuery]):
    def __init__(self, sql: str, table_format: bool) -> None:
        self._query = ClickHouseQuery(sql, table_format)

    def build(self) -> ClickHouseQuery:
        return self._query


# --------------------------------------------------------------------------- rendering


def _datasource() -> model.DataSourceRef:
    return model.DataSourceRef(type_val=DATASOURCE["type"], uid=DATASOURCE["uid"])


def _step_dicts(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [{"color": colour, "value": value} for colour, value in steps]


def _thresholds(steps: list[dict[str, Any]]) -> dashboard_builders.ThresholdsConfig:
    pairs = [(s["color"], s["value"]) for s in steps]
    return dashboard_builders.ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(
        [model.Threshold(value=value, color=colour) for colour, value in pairs])


def _column_override(column: Column, target_steps: list[dict[str, Any]] | None) -> Any:
    props = []
    if column.display:
        props.append(model.DynamicConfigValue(id_val="displayName", value=column.display))
    if column.unit:
        props.append(model.DynamicConfigValue(id_val="unit", value=column.unit))
    if column.decimals is not None:
        props.append(model.DynamicConfigValue(id_val="decimals", value=column.decimals))
    if column.color_text:
        props.append(model.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}))
    if column.value_colors:
        options = {value: {"color": colour, "index": i} for i, (value, colour) in enumerate(column.value_colors)}
        props.append(model.DynamicConfigValue(id_val="mappings", value=[{"type": "value", "options": options}]))
    steps = target_steps if column.target else (_step_dicts(column.steps) or None)
    if steps is not None:
        props.append(model.DynamicConfigValue(id_val="thresholds", value={"mode": "absolute", "steps": steps}))
    matcher = model.MatcherConfig(id_val="byRegexp" if column.regexp else "byName", options=column.name)
    return dashboard_builders.DashboardFieldConfigSourceOverrides().matcher(matcher).properties(props)


def _reduce(values: bool) -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(values)


def _build_panel(spec: Panel, module: str, parameters: Parameters, target_steps: list[dict[str, Any]] | None) -> Any:
    sql = panel_sql(module, spec.sql, parameters)
    query = ClickHouseQueryBuilder(sql, table_format=spec.kind != "timeseries")
    steps = target_steps if target_steps is not None and not spec.columns else _step_dicts(spec.steps)
    built: Any
    if spec.kind == "timeseries":
        built = (
            timeseries.Panel()
            .draw_style(common.GraphDrawStyle.BARS if spec.bars else common.GraphDrawStyle.LINE)
            .line_width(1).fill_opacity(80 if spec.bars else 10).show_points(common.VisibilityMode.NEVER)
            .span_nulls(False).axis_soft_min(0)
            .stacking(common_builders.StackingConfig()
                      .mode(common.StackingMode.NORMAL if spec.stacked else common.StackingMode.NONE).group("A"))
            .thresholds_style(common_builders.GraphThresholdsStyleConfig().mode(
                common.GraphThresholdsStyleMode.LINE if spec.threshold_line else common.GraphThresholdsStyleMode.OFF))
            .color_scheme(dashboard_builders.FieldColor().mode(model.FieldColorModeId.PALETTE_CLASSIC))
            .legend(common_builders.VizLegendOptions().display_mode(common.LegendDisplayMode.TABLE)
                    .placement(common.LegendPlacement.BOTTOM).show_legend(True).calcs(list(spec.legend)))
            .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
                     .sort(common.SortOrder.DESCENDING))
            .thresholds(_thresholds(steps))
        )
    elif spec.kind == "table":
        built = (
            table.Panel().show_header(True).cell_height(common.TableCellHeight.SM)
            .filterable(spec.filterable)
            .thresholds(_thresholds(_step_dicts(spec.steps)))
        )
        if spec.sort_by:
            built = built.sort_by([common_builders.TableSortByFieldState().display_name(spec.sort_by).desc(True)])
    elif spec.kind == "stat":
        built = (
            stat.Panel().reduce_options(_reduce(spec.reduce_values))
            .color_mode(common.BigValueColorMode.BACKGROUND if spec.color_mode == "background"
                        else common.BigValueColorMode.VALUE)
            .graph_mode(common.BigValueGraphMode.NONE).justify_mode(common.BigValueJustifyMode.AUTO)
            .text_mode(common.BigValueTextMode.AUTO).orientation(common.VizOrientation.AUTO)
            .color_scheme(dashboard_builders.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
            .thresholds(_thresholds(steps))
        )
    elif spec.kind == "bargauge":
        built = (
            bargauge.Panel().reduce_options(_reduce(True)).orientation(common.VizOrientation.HORIZONTAL)
            .display_mode(common.BarGaugeDisplayMode.GRADIENT).show_unfilled(True)
            .value_mode(common.BarGaugeValueMode.COLOR).name_placement(common.BarGaugeNamePlacement.AUTO)
            .sizing(common.BarGaugeSizing.AUTO)
            .color_scheme(dashboard_builders.FieldColor().mode(model.FieldColorModeId.THRESHOLDS))
            .thresholds(_thresholds(steps))
        )
    else:
        built = (
            barchart.Panel().orientation(common.VizOrientation.HORIZONTAL)
            .stacking(common.StackingMode.NORMAL if spec.stacked else common.StackingMode.NONE)
            .show_value(common.VisibilityMode.AUTO).x_field(spec.x_field or "").bar_width(0.8).group_width(0.7)
            .fill_opacity(80).line_width(1).axis_soft_min(0)
            .legend(common_builders.VizLegendOptions().display_mode(common.LegendDisplayMode.LIST)
                    .placement(common.LegendPlacement.BOTTOM).show_legend(True).calcs([]))
            .tooltip(common_builders.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI)
                     .sort(common.SortOrder.NONE))
            .color_scheme(dashboard_builders.FieldColor().mode(model.FieldColorModeId.PALETTE_CLASSIC))
        )
    built = built.title(spec.title).description(spec.description).datasource(_datasource()).with_target(query)
    if spec.unit:
        built = built.unit(spec.unit)
    if spec.decimals is not None:
        built = built.decimals(spec.decimals)
    if spec.min is not None:
        built = built.min(spec.min)
    if spec.max is not None:
        built = built.max(spec.max)
    if spec.label:
        built = built.display_name(f"${{__field.labels.{spec.label}}}")
    if spec.interval:
        built = built.interval(spec.interval)
    if spec.repeat:
        built = built.repeat(spec.repeat).repeat_direction("h").max_per_row(3)
    if spec.columns:
        built = built.overrides([_column_override(c, target_steps) for c in spec.columns])
    return built


def _layout(items: tuple[Panel | Row, ...]) -> list[tuple[Panel | Row, model.GridPos]]:
    """Left to right, wrapping at 24 columns; a row starts below everything before it."""
    placed: list[tuple[Panel | Row, model.GridPos]] = []
    x = y = line_height = 0
    for item in items:
        if isinstance(item, Row):
            y, x, line_height = y + line_height, 0, 0
            placed.append((item, model.GridPos(h=1, w=24, x=0, y=y)))
            y += 1
            continue
        if x + item.w > 24:
            y, x, line_height = y + line_height, 0, 0
        placed.append((item, model.GridPos(h=item.h, w=item.w, x=x, y=y)))
        x += item.w
        line_height = max(line_height, item.h)
    return placed


def _variable(var: Variable) -> Any:
    return (
        dashboard_builders.QueryVariable(var.name).label(var.label).datasource(_datasource())
        .query(var.query).refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .multi(True).include_all(True).sort(model.VariableSort.ALPHABETICAL_ASC)
        .current(model.VariableOption(selected=True, text=["All"], value=["$__all"]))
    )


def render(spec: Dashboard, parameters: Parameters) -> dict[str, Any]:
    """The dashboard as Grafana JSON (a dict), thresholds from `parameters`."""
    targets = {p.title: p for p in THRESHOLDED_PANELS if p.dashboard == spec.file}
    board = (
        dashboard_builders.Dashboard(spec.title).uid(spec.uid).description(spec.description)
        .tags(list(spec.tags)).timezone("Europe/Stockholm").week_start("monday").editable()
        .tooltip(model.DashboardCursorSync.CROSSHAIR).refresh(spec.refresh).time(spec.time_from, "now")
        .live_now(False).fiscal_year_start_month(0).version(1)
        .link(dashboard_builders.DashboardLink("servicepulse").type(model.DashboardLinkType.DASHBOARDS)
              .tags(["servicepulse"]).as_dropdown(True).include_vars(False).keep_time(True)
              .target_blank(False).icon("external link").tooltip("").url(""))
        # Grafana's own annotations and alerts, as every dashboard saved by Grafana has them
        .annotation(dashboard_builders.AnnotationQuery().name("Annotations & Alerts").built_in(1).type("dashboard")
                    .datasource(model.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
                    .enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)"))
    )
    for var in spec.variables:
        board = board.with_variable(_variable(var))
    for panel_id, (item, pos) in enumerate(_layout(spec.items), start=1):
        if isinstance(item, Row):
            board = board.with_row(dashboard_builders.Row(item.title).id(panel_id).grid_pos(pos))
            continue
        target = targets.get(item.title)
        steps = threshold_steps(target, parameters) if target else None
        board = board.with_panel(_build_panel(item, spec.module, parameters, steps).id(panel_id).grid_pos(pos))
    built: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return built


def to_text(dashboard: dict[str, Any]) -> str:
    """The file's text: stable key order as the SDK emits it, two-space indent, UTF-8 kept readable."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"
