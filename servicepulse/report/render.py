"""Render the report model: HTML from the Jinja2 templates (inline CSS and SVG, no script) or JSON."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from enum import Enum
from functools import cache
from typing import Any

import jinja2

from servicepulse.domain.parameters import Parameters

from .charts import bar_chart
from .figures import Margins
from .formatting import format_change, format_measure, format_money, format_number, format_percent
from .messages import LANGUAGES, message, name
from .model import Measure, Report, TrendPoint

__all__ = ["render_html", "report_json", "to_plain"]


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("servicepulse.report", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _measure_label(measure: Measure, lang: str, parameters: Parameters, thresholds: dict[str, int],
                   limits: dict[str, int]) -> str:
    """What a measure is, in words, with the numbers of its definition (threshold, limit)."""
    key = f"m.{measure.measure}"
    if measure.measure == "service_level":
        return message(key, lang, threshold=thresholds.get(measure.subject, 0))
    if measure.measure == "email_within_deadline":
        return message(key, lang, days=parameters.value("contact.email_deadline", "working_days"))
    if measure.measure == "case_lead_time":
        return message(key, lang, days=limits.get(measure.subject, 0))
    if measure.measure == "complaint_ack":
        return message(key, lang, hours=format_number(parameters.ack_office_hours, lang))
    return message(key, lang)


def render_html(report: Report, lang: str, parameters: Parameters, margins: Margins) -> str:
    """The self-contained, printable HTML page of `report` in `lang` ('sv' or 'en')."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: sv or en")
    thresholds = {q.queue: q.threshold_s for q in report.queues}
    limits = {c.case_type: c.limit_days for c in report.cases}

    def t(key: str, **values: object) -> str:
        return message(key, lang, **values)

    def trend_chart(points: tuple[TrendPoint, ...], target: float | None = None) -> Any:
        return bar_chart(points, target, height=22.0)

    template = _environment().get_template("report.html")
    return template.render(
        r=report, lang=lang, t=t, one_day=timedelta(days=1),
        label=lambda m: _measure_label(m, lang, parameters, thresholds, limits),
        value=lambda m, v: format_measure(m, v, lang),
        pct=lambda v: format_percent(v, lang),
        chg=lambda v: format_change(v, lang),
        num=lambda v, places=0: format_number(v, lang, places),
        money=lambda v: format_money(v, lang),
        chart=trend_chart,
        backlog_chart=bar_chart(report.backlog_trend, None, width=240.0, height=48.0, gap=8.0),
        name=lambda kind, code: name(kind, code, lang),
        month_name=lambda month: message(f"mon.{month[5:]}", lang),
        margin=f"{format_number(margins.ratio * 100, lang)} {message('pp', lang)}",
        aged_days=parameters.value("gl.suspense_aged", "max_working_days"),
    )


def to_plain(value: Any) -> Any:
    """The report model as JSON-ready values (dates ISO, enums by value)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [to_plain(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def report_json(report: Report) -> str:
    """The same figures as the HTML, for other tools: raw values (ratios 0-1, öre), no formatting."""
    return json.dumps(to_plain(report), ensure_ascii=False, indent=2) + "\n"
