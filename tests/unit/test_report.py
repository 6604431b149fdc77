"""The report's pure parts: periods, traffic lights, figures from rows, formatting, chart geometry, rendering."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pytest

from servicepulse.domain.parameters import default_parameters
from servicepulse.report import Direction, Light, Margins, Period, build_report, traffic_light
from servicepulse.report.charts import bar_chart
from servicepulse.report.formatting import format_change, format_money, format_number, format_percent
from servicepulse.report.messages import LANGUAGES, MESSAGES
from servicepulse.report.model import TrendPoint
from servicepulse.report.queries import QUERIES, query_parameters, sql
from servicepulse.report.render import render_html, report_json

NBSP = "\u00a0"
T1 = Period.tertial("2026-T1")
TODAY = date(2026, 5, 5)


def _rows(**overrides: Sequence[Mapping[str, Any]]) -> dict[str, Sequence[Mapping[str, Any]]]:
    rows: dict[str, Sequence[Mapping[str, Any]]] = {name: [] for name in QUERIES}
    rows["queue_targets"] = [{"queue": "payroll-service", "threshold_s": 60, "service_level_target": 0.85,
                              "fcr_target": 0.95}]
    rows["business_targets"] = [{"name": "payslips_per_fte", "value": 940.0},
                                {"name": "supplier_invoices_per_fte", "value": 3100.0},
                                {"name": "customer_invoices_per_fte", "value": 5100.0},
                                {"name": "suspense_yearly_change", "value": -0.03}]
    rows["case_limits"] = [{"case_type": "new_hire", "limit_days": 2}]
    return rows | overrides


def _queue(month: str, offered: int, within: int, ended: int = 10, resolved: int = 10) -> dict[str, Any]:
    return {"month": month, "queue": "payroll-service", "org": "lon", "offered": offered, "answered": offered,
            "answered_within_threshold": within, "abandoned": 0, "short_abandoned": 0,
            "answered_wait_s": 20.0 * offered, "fcr_ended": ended, "fcr_resolved": resolved}


# ------------------------------------------------------------------------------------------------ periods


def test_periods() -> None:
    assert (T1.start, T1.end, T1.months) == (date(2026, 1, 1), date(2026, 5, 1),
                                             ("2026-01", "2026-02", "2026-03", "2026-04"))
    assert T1.month_ends == (date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1))
    t3 = Period.tertial("2026-T3")
    assert (t3.end, t3.months[-1]) == (date(2027, 1, 1), "2026-12")
    december = Period.month("2026-12")
    assert (december.start, december.end, december.months) == (date(2026, 12, 1), date(2027, 1, 1), ("2026-12",))
    assert T1.year_before() == Period("tertial", "2025-T1", date(2025, 1, 1), date(2025, 5, 1))
    for bad in ("2026-13", "2026-3", "march"):
        with pytest.raises(ValueError, match="not a month"):
            Period.month(bad)
    with pytest.raises(ValueError, match="not a tertial"):
        Period.tertial("2026-T4")


# ------------------------------------------------------------------------------------------- traffic lights


@pytest.mark.parametrize(("value", "target", "direction", "margin", "light"), [
    (85 / 100, 0.85, Direction.at_least, 0.02, Light.green),  # exactly on target (float) is met
    (0.84, 0.85, Direction.at_least, 0.02, Light.yellow),
    (0.83, 0.85, Direction.at_least, 0.02, Light.yellow),  # at the edge of the margin
    (0.8299, 0.85, Direction.at_least, 0.02, Light.red),
    (0.84, 0.85, Direction.at_least, 0.0, Light.red),
    (1.0, 1.0, Direction.at_least, 0.02, Light.green),
    (-0.05, -0.03, Direction.at_most, 0.03, Light.green),  # 5 % fewer postings meets "3 % fewer"
    (0.0, -0.03, Direction.at_most, 0.03, Light.yellow),
    (0.01, -0.03, Direction.at_most, 0.03, Light.red),
    (None, 0.85, Direction.at_least, 0.02, Light.none),
    (0.9, None, Direction.at_least, 0.02, Light.none),
])
def test_traffic_light(value: float | None, target: float | None, direction: Direction, margin: float,
                       light: Light) -> None:
    assert traffic_light(value, target, direction, margin) is light


# ------------------------------------------------------------------------------------------------ figures


def test_contact_figures_add_up_the_months() -> None:
    rows = _rows(contact_queues=[_queue("2026-01", 100, 90), _queue("2026-03", 100, 70, ended=0, resolved=0)])
    report = build_report(rows, T1, Margins(), TODAY)
    sl = next(m for m in report.measures if m.key == "contact.service_level:payroll-service")
    assert sl.value == pytest.approx(160 / 200) and sl.target == 0.85 and sl.light is Light.red
    assert [p.value for p in sl.trend] == [0.9, None, 0.7, None]  # no data that month: None, never 0
    assert [p.light for p in sl.trend] == [Light.green, Light.none, Light.red, Light.none]
    fcr = next(m for m in report.measures if m.key == "contact.fcr:payroll-service")
    assert fcr.value == 1.0 and fcr.basis == 10 and fcr.light is Light.green
    (queue,) = report.queues
    assert (queue.offered, queue.asa_s, queue.abandonment) == (200, 20.0, 0.0)


def test_no_data_is_no_value_and_no_light() -> None:
    report = build_report(_rows(), T1, Margins(), TODAY)
    assert report.measures, "every target is listed even without data"
    for measure in report.measures:
        assert measure.value is None and measure.light is Light.none, measure
    assert {m.key for m in report.measures} >= {
        "contact.service_level:payroll-service", "email.within_deadline:payroll-service", "cases.lead_time:new_hire",
        "complaints.acknowledged_in_time", "productivity.payslips_per_fte", "finance.suspense_change"}


def test_unanswered_e_mail_counts_only_when_late() -> None:
    rows = _rows(email=[{"month": "2026-02", "queue": "payroll-service", "received": 12, "answered": 9,
                         "answered_in_time": 9, "open_overdue": 1, "answered_office_hours": 18.0}])
    report = build_report(rows, T1, Margins(), TODAY)
    m = next(m for m in report.measures if m.key == "email.within_deadline:payroll-service")
    assert m.value == pytest.approx(0.9) and (m.basis, m.light) == (10, Light.red)
    assert report.emails[0].mean_office_hours == 2.0


def test_productivity_uses_staffed_months_with_a_relative_margin() -> None:
    rows = _rows(productivity_payslips=[
        {"month": "2026-01", "payslips": 9000, "fte": 10.0, "payslips_per_fte": 900.0, "target": 940.0},
        {"month": "2026-02", "payslips": 9500, "fte": 0.0, "payslips_per_fte": None, "target": 940.0}])
    report = build_report(rows, T1, Margins(per_fte=0.05), TODAY)
    m = next(m for m in report.measures if m.key == "productivity.payslips_per_fte")
    assert (m.value, m.basis, m.light) == (900.0, 9000, Light.yellow)  # 4 % under 940, margin 5 % of it
    assert [r.fte for r in report.productivity] == [10.0, None]  # 0 FTE: no staffing loaded, not "nobody"


def test_suspense_change_against_the_same_period_last_year() -> None:
    rows = _rows(
        suspense_postings=[{"company": "1040", "month": "2026-02", "current": True, "postings": 95},
                           {"company": "1040", "month": "2025-02", "current": False, "postings": 100},
                           {"company": "1050", "month": "2026-03", "current": True, "postings": 5}],
        suspense_open=[{"company": "1040", "open_items": 2, "open_ore": 125000, "max_age_days": 12,
                        "mean_age_days": 8.5, "aged": 1}])
    report = build_report(rows, T1, Margins(), TODAY)
    m = next(m for m in report.measures if m.key == "finance.suspense_change")
    assert m.value == pytest.approx(0.0) and m.light is Light.yellow  # 100 -> 100: not 3 % fewer, within 3 pp
    assert [p.value for p in m.trend] == [None, pytest.approx(-0.05), None, None]
    by_company = {r.company: r for r in report.suspense}
    assert by_company["1040"].change == pytest.approx(-0.05) and by_company["1050"].change is None
    assert by_company["1050"].open_items == 0 and by_company["1050"].max_age_days is None


def test_complaint_backlog_at_month_ends() -> None:
    rows = _rows(
        complaints=[{"month": "2026-01", "customer": "Socialförvaltningen", "process": "payroll", "registered": 4,
                     "acknowledged": 4, "acknowledged_in_time": 3, "closed": 2}],
        complaint_backlog=[{"at": date(2026, 2, 1), "customer": "Socialförvaltningen", "open": 2},
                           {"at": date(2026, 5, 1), "customer": "Socialförvaltningen", "open": 1}])
    report = build_report(rows, T1, Margins(), TODAY, customer="Socialförvaltningen")
    assert [p.value for p in report.backlog_trend] == [2.0, 0.0, 0.0, 1.0]
    assert [(b.customer, b.open) for b in report.backlog] == [("Socialförvaltningen", 1)]
    m = next(m for m in report.measures if m.key == "complaints.acknowledged_in_time")
    assert m.value == 0.75 and m.light is Light.red


# --------------------------------------------------------------------------------------------- formatting


def test_swedish_and_english_formats() -> None:
    assert format_percent(0.786, "sv") == f"78,6{NBSP}%"
    assert format_percent(0.786, "en") == "78.6%"
    assert format_percent(0.0785, "sv") == f"7,9{NBSP}%"  # half up, as on paper
    assert format_money(125000, "sv") == f"1{NBSP}250,00{NBSP}kr"
    assert format_money(125000, "en") == f"SEK{NBSP}1,250.00"
    assert format_number(12345, "sv") == f"12{NBSP}345"
    assert format_number(12345.67, "en", 1) == "12,345.7"
    assert format_change(-0.03, "sv") == f"-3,0{NBSP}%"
    assert format_change(0.05, "en") == "+5.0%"
    assert format_change(0.0, "sv") == f"0,0{NBSP}%"
    assert format_percent(-0.00001, "sv") == f"0,0{NBSP}%"  # never "-0,0 %"
    for fmt in (format_percent, format_change, format_number):
        assert fmt(None, "sv") == "ingen data" and fmt(None, "en") == "no data"


def test_every_message_in_both_languages() -> None:
    assert all(set(texts) == set(LANGUAGES) for texts in MESSAGES.values())


# -------------------------------------------------------------------------------------------------- charts


def test_bar_chart_geometry() -> None:
    points = [TrendPoint("2026-01", 0.5, Light.red), TrendPoint("2026-02", None), TrendPoint("2026-03", 1.0)]
    chart = bar_chart(points, 0.85, width=90, height=30, gap=0)
    first, empty, third = chart.bars
    assert (first.x, first.width, third.x) == (0, 30, 60)
    assert third.y == pytest.approx(2.0) and third.height == pytest.approx(26.0)  # the highest value fills it
    assert first.height == pytest.approx(13.0) and first.light is Light.red
    assert empty.empty and empty.light is Light.none
    assert chart.target_y == pytest.approx(2 + 0.15 * 26)
    fall = bar_chart([TrendPoint("2026-01", -0.05)], -0.03, width=10, height=30)
    assert fall.bars[0].y == pytest.approx(fall.baseline_y) and fall.bars[0].height > 0  # hangs below zero


# ------------------------------------------------------------------------------------------------ queries


def test_queries_bind_every_parameter() -> None:
    bound = query_parameters(T1, default_parameters(), None)
    for name in QUERIES:
        text = sql(name)
        for placeholder in re.findall(r"\{(\w+):[^}]+\}", text):
            assert placeholder in bound, (name, placeholder)
        assert "{" not in re.sub(r"\{\w+:[^}]+\}", "", text), name  # nothing formatted into the SQL
    assert bound["customer"] == "" and bound["previous_start"] == date(2025, 1, 1)
    assert bound["days"][-1] == date(2026, 5, 1)


# ---------------------------------------------------------------------------------------------- rendering


def test_rendered_page_is_self_contained_and_says_no_data() -> None:
    rows = _rows(contact_queues=[_queue("2026-01", 100, 90)])
    report = build_report(rows, T1, Margins(), TODAY)
    sv = render_html(report, "sv", default_parameters(), Margins())
    en = render_html(report, "en", default_parameters(), Margins())
    assert '<html lang="sv">' in sv and '<html lang="en">' in en
    for page in (sv, en):
        assert "<script" not in page and "<link" not in page and "@import" not in page and "url(" not in page
        assert "<svg" in page
    assert f'data-figure="contact.service_level:payroll-service:value">90,0{NBSP}%<' in sv
    assert 'data-figure="productivity.payslips_per_fte:value"><span class="nodata">ingen data</span>' in sv
    assert '<span class="nodata">no data</span>' in en and "ingen data" not in en
    assert "Uppföljning av serviceavtal" in sv and "Service agreement follow-up" in en
    assert '"period": "2026-T1"' in report_json(report)
    with pytest.raises(ValueError, match="language"):
        render_html(report, "de", default_parameters(), Margins())
