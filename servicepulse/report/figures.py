"""Pure figures: query results in, the typed report out (traffic lights, period totals, monthly trends).

Nothing here talks to ClickHouse: `queries.run_queries` fetches the rows, this module only adds them up, so every
rule of the report (which measure, which target, which colour) is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .model import (
    BacklogRow,
    CaseRow,
    ComplaintRow,
    DeadLetterRow,
    Direction,
    EmailRow,
    ErrorCauseRow,
    FindingRow,
    Light,
    Measure,
    ProductivityRow,
    QueueRow,
    Report,
    ReviewStatusRow,
    SampleRow,
    SuspenseRow,
    TrendPoint,
    Unit,
)
from .period import Period

__all__ = ["ALL_TARGET", "Margins", "Rows", "build_report", "ratio", "traffic_light"]

Rows = Mapping[str, Sequence[Mapping[str, Any]]]
"""Query name (the .sql file's stem) -> its rows as column -> value mappings."""

REVIEW_COLUMNS = ("findings", "reviewed", "confirmed", "false_positive", "needs_info", "open")
"""The counts of a review status row, in the order of `ReviewStatusRow`."""

ALL_TARGET = 1.0
"""Targets written "all" in the service agreements (every e-mail, every complaint, every case in time)."""

_EPS = 1e-9  # a value computed as 85/100 must meet a target of 0.85


@dataclass(frozen=True)
class Margins:
    """How far below (or above) a target a value may be and still show yellow rather than red."""

    ratio: float = 0.02  # shares: percentage points as a fraction
    per_fte: float = 0.05  # volumes per FTE: a fraction of the target
    change: float = 0.03  # 9894 change against last year: percentage points as a fraction


def traffic_light(value: float | None, target: float | None, direction: Direction, margin: float) -> Light:
    """Green when the target is met, yellow when missed by at most `margin`, red otherwise; no value, no light."""
    if value is None or target is None:
        return Light.none
    gap = value - target if direction is Direction.at_least else target - value
    if gap >= -_EPS:
        return Light.green
    if gap >= -margin - _EPS:
        return Light.yellow
    return Light.red


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when nothing was measured (never a 0 % for an empty period)."""
    return part / whole if whole else None


def _int(row: Mapping[str, Any], key: str) -> int:
    value = row.get(key)
    return int(value) if value is not None else 0


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _fte(value: Any) -> float | None:
    # The productivity views join the staffing table: a month without staffing comes back as 0 FTE, which is
    # "not known", not "nobody worked".
    return float(value) if value else None


def _sum(rows: Iterable[Mapping[str, Any]], key: str) -> int:
    return sum(_int(r, key) for r in rows)


def _by(rows: Iterable[Mapping[str, Any]], key: str) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        out.setdefault(str(row[key]), []).append(row)
    return out


def _trend(months: Sequence[str], rows: Sequence[Mapping[str, Any]],
           value: Callable[[Sequence[Mapping[str, Any]]], float | None]) -> tuple[TrendPoint, ...]:
    by_month = _by(rows, "month")
    return tuple(TrendPoint(m, value(by_month.get(m, []))) for m in months)


def _measure(key: str, area: str, measure: str, subject: str, value: float | None, target: float | None,
             unit: Unit, direction: Direction, margin: float, basis: int, trend: tuple[TrendPoint, ...]) -> Measure:
    if unit is Unit.per_fte and target is not None:
        margin = margin * target  # relative margin
    lit = tuple(TrendPoint(p.month, p.value, traffic_light(p.value, target, direction, margin)) for p in trend)
    return Measure(key, area, measure, subject, value, target, unit, direction,
                   traffic_light(value, target, direction, margin), basis, lit)


def _contact(rows: Rows, months: Sequence[str], margins: Margins) -> tuple[list[Measure], list[QueueRow]]:
    targets = {str(r["queue"]): r for r in rows["queue_targets"]}
    data = _by(rows["contact_queues"], "queue")
    measures, table = [], []
    for queue in sorted(set(targets) | set(data)):
        qrows = data.get(queue, [])
        t = targets.get(queue, {})
        offered, answered = _sum(qrows, "offered"), _sum(qrows, "answered")
        wait_s = sum(float(r["answered_wait_s"]) for r in qrows)
        ended = _sum(qrows, "fcr_ended")

        def sl(rs: Sequence[Mapping[str, Any]]) -> float | None:
            return ratio(_sum(rs, "answered_within_threshold"), _sum(rs, "offered"))

        def fcr(rs: Sequence[Mapping[str, Any]]) -> float | None:
            return ratio(_sum(rs, "fcr_resolved"), _sum(rs, "fcr_ended"))

        table.append(QueueRow(
            queue=queue, org=str(qrows[0]["org"]) if qrows else "",
            threshold_s=_int(t, "threshold_s"), offered=offered, answered=answered, service_level=sl(qrows),
            asa_s=ratio(wait_s, answered),
            abandonment=ratio(_sum(qrows, "abandoned") - _sum(qrows, "short_abandoned"), offered),
            fcr=fcr(qrows)))
        measures.append(_measure(f"contact.service_level:{queue}", "contact", "service_level", queue, sl(qrows),
                                 _float(t.get("service_level_target")), Unit.ratio, Direction.at_least, margins.ratio,
                                 offered, _trend(months, qrows, sl)))
        measures.append(_measure(f"contact.fcr:{queue}", "contact", "fcr", queue, fcr(qrows),
                                 _float(t.get("fcr_target")), Unit.ratio, Direction.at_least, margins.ratio, ended,
                                 _trend(months, qrows, fcr)))
    return measures, table


def _emails(rows: Rows, months: Sequence[str], margins: Margins) -> tuple[list[Measure], list[EmailRow]]:
    data = _by(rows["email"], "queue")
    queues = sorted(set(data) | {str(r["queue"]) for r in rows["queue_targets"]})
    measures, table = [], []

    def decided(rs: Sequence[Mapping[str, Any]]) -> int:
        # Unanswered e-mails still within their deadline are neither in time nor late yet.
        return _sum(rs, "answered") + _sum(rs, "open_overdue")

    def share(rs: Sequence[Mapping[str, Any]]) -> float | None:
        return ratio(_sum(rs, "answered_in_time"), decided(rs))

    for queue in queues:
        qrows = data.get(queue, [])
        answered = _sum(qrows, "answered")
        hours = sum(float(r["answered_office_hours"]) for r in qrows)
        table.append(EmailRow(queue, _sum(qrows, "received"), answered, _sum(qrows, "answered_in_time"),
                              _sum(qrows, "open_overdue"), share(qrows), ratio(hours, answered)))
        measures.append(_measure(f"email.within_deadline:{queue}", "email", "email_within_deadline", queue,
                                 share(qrows), ALL_TARGET, Unit.ratio, Direction.at_least, margins.ratio,
                                 decided(qrows), _trend(months, qrows, share)))
    return measures, table


def _cases(rows: Rows, months: Sequence[str], margins: Margins) -> tuple[list[Measure], list[CaseRow]]:
    limits = {str(r["case_type"]): _int(r, "limit_days") for r in rows["case_limits"]}
    data = _by(rows["cases"], "case_type")
    measures, table = [], []

    def decided(rs: Sequence[Mapping[str, Any]]) -> int:
        return _sum(rs, "closed") + _sum(rs, "open_overdue")

    def share(rs: Sequence[Mapping[str, Any]]) -> float | None:
        return ratio(_sum(rs, "closed_in_time"), decided(rs))

    for case_type in sorted(set(limits) | set(data)):
        crows = data.get(case_type, [])
        table.append(CaseRow(case_type, limits.get(case_type, 0), _sum(crows, "opened"), _sum(crows, "closed"),
                             _sum(crows, "closed_in_time"), _sum(crows, "open_overdue"), share(crows)))
        measures.append(_measure(f"cases.lead_time:{case_type}", "cases", "case_lead_time", case_type,
                                 share(crows), ALL_TARGET, Unit.ratio, Direction.at_least, margins.ratio,
                                 decided(crows), _trend(months, crows, share)))
    return measures, table


def _complaints(rows: Rows, months: Sequence[str], margins: Margins, period: Period
                ) -> tuple[list[Measure], list[ComplaintRow], list[TrendPoint], list[BacklogRow]]:
    crows = rows["complaints"]
    table = []
    for (customer, process), group in sorted(
            {(str(r["customer"]), str(r["process"])): [] for r in crows}.items()):
        group = [r for r in crows if r["customer"] == customer and r["process"] == process]
        table.append(ComplaintRow(customer, process, _sum(group, "registered"), _sum(group, "acknowledged"),
                                  _sum(group, "acknowledged_in_time"), _sum(group, "closed")))

    def share(rs: Sequence[Mapping[str, Any]]) -> float | None:
        return ratio(_sum(rs, "acknowledged_in_time"), _sum(rs, "registered"))

    measure = _measure("complaints.acknowledged_in_time", "complaints", "complaint_ack", "", share(crows),
                       ALL_TARGET, Unit.ratio, Direction.at_least, margins.ratio, _sum(crows, "registered"),
                       _trend(months, crows, share))
    backlog = _by(rows["complaint_backlog"], "at")
    trend = [TrendPoint(m, float(sum(_int(r, "open") for r in backlog.get(str(end), []))))
             for m, end in zip(months, period.month_ends, strict=True)]
    at_end = backlog.get(str(period.end), [])
    per_customer = sorted((BacklogRow(str(r["customer"]), _int(r, "open")) for r in at_end),
                          key=lambda b: (-b.open, b.customer))
    return [measure], table, trend, per_customer


def _productivity(rows: Rows, months: Sequence[str], margins: Margins
                  ) -> tuple[list[Measure], list[ProductivityRow]]:
    targets = {str(r["name"]): float(r["value"]) for r in rows["business_targets"]}
    table = [ProductivityRow(str(r["month"]), "payslips", _int(r, "payslips"), _fte(r["fte"]),
                             _float(r["payslips_per_fte"]), _float(r["target"]))
             for r in rows["productivity_payslips"]]
    table += [ProductivityRow(str(r["month"]), str(r["kind"]), _int(r, "invoices"), _fte(r["fte"]),
                              _float(r["invoices_per_fte"]), _float(r["target"]))
              for r in rows["productivity_invoices"]]
    measures = []
    for kind, target_name in (("payslips", "payslips_per_fte"), ("supplier_invoice", "supplier_invoices_per_fte"),
                              ("customer_invoice", "customer_invoices_per_fte")):
        krows = [r for r in table if r.kind == kind]

        def per_fte(rs: Sequence[ProductivityRow]) -> float | None:
            # Months without staffing say nothing about productivity: left out of the average, not counted as 0.
            staffed = [r for r in rs if r.fte]
            return ratio(sum(r.volume for r in staffed), sum(r.fte or 0.0 for r in staffed))

        trend = tuple(TrendPoint(m, per_fte([r for r in krows if r.month == m])) for m in months)
        measures.append(_measure(f"productivity.{target_name}", "productivity", target_name, "", per_fte(krows),
                                 targets.get(target_name), Unit.per_fte, Direction.at_least, margins.per_fte,
                                 sum(r.volume for r in krows if r.fte), trend))
    return measures, table


def _previous_month(month: str) -> str:
    return f"{int(month[:4]) - 1:04d}{month[4:]}"


def _suspense(rows: Rows, months: Sequence[str], margins: Margins) -> tuple[list[Measure], list[SuspenseRow]]:
    targets = {str(r["name"]): float(r["value"]) for r in rows["business_targets"]}
    postings = rows["suspense_postings"]
    opened = {str(r["company"]): r for r in rows["suspense_open"]}
    current = [r for r in postings if r["current"]]
    previous = [r for r in postings if not r["current"]]
    table = []
    for company in sorted({str(r["company"]) for r in postings} | set(opened)):
        cur = sum(_int(r, "postings") for r in current if r["company"] == company)
        prev = sum(_int(r, "postings") for r in previous if r["company"] == company)
        o = opened.get(company, {})
        table.append(SuspenseRow(company, cur, prev, ratio(cur - prev, prev), _int(o, "open_items"),
                                 _int(o, "open_ore"), None if not o else _int(o, "max_age_days"),
                                 _float(o.get("mean_age_days")), _int(o, "aged")))
    total_cur, total_prev = _sum(current, "postings"), _sum(previous, "postings")

    def month_change(month: str) -> float | None:
        cur = sum(_int(r, "postings") for r in current if r["month"] == month)
        prev = sum(_int(r, "postings") for r in previous if r["month"] == _previous_month(month))
        return ratio(cur - prev, prev)

    measure = _measure("finance.suspense_change", "finance", "suspense_change", "9894",
                       ratio(total_cur - total_prev, total_prev), targets.get("suspense_yearly_change"), Unit.change,
                       Direction.at_most, margins.change, total_cur,
                       tuple(TrendPoint(m, month_change(m)) for m in months))
    return [measure], table


def build_report(rows: Rows, period: Period, margins: Margins, today: date, customer: str | None = None) -> Report:
    """The report of `period` from the rows of every query in `servicepulse/report/sql/` (see queries.py)."""
    months = period.months
    contact, queues = _contact(rows, months, margins)
    email, emails = _emails(rows, months, margins)
    case_measures, cases = _cases(rows, months, margins)
    complaint_measures, complaints, backlog_trend, backlog = _complaints(rows, months, margins, period)
    productivity_measures, productivity = _productivity(rows, months, margins)
    suspense_measures, suspense = _suspense(rows, months, margins)
    return Report(
        period_kind=period.kind, period=period.label, start=period.start, end=period.end, months=months,
        customer=customer, generated_on=today,
        measures=(*contact, *email, *case_measures, *complaint_measures, *productivity_measures, *suspense_measures),
        queues=tuple(queues), emails=tuple(emails), cases=tuple(cases), complaints=tuple(complaints),
        backlog_trend=tuple(backlog_trend), backlog=tuple(backlog), productivity=tuple(productivity),
        suspense=tuple(suspense), suspense_open_on=today,
        findings=tuple(FindingRow(str(r["rule_id"]), str(r["severity"]), _int(r, "findings"))
                       for r in rows["findings"]),
        samples=tuple(SampleRow(str(r["method"]), _int(r, "samples"), _int(r, "runs"), _int(r, "documents"))
                      for r in rows["samples"]),
        dead_letters=tuple(DeadLetterRow(str(r["source"]), str(r["kind"]), _int(r, "dead_letters"))
                           for r in rows["dead_letters"]),
        review_status=tuple(ReviewStatusRow(str(r["rule_id"]), *(_int(r, c) for c in REVIEW_COLUMNS))
                            for r in rows.get("review_status", ())),
        error_causes=tuple(ErrorCauseRow(str(r["cause"]), str(r.get("label_sv") or r["cause"]),
                                         str(r.get("label_en") or r["cause"]), _int(r, "findings"),
                                         _int(r, "samples"), _int(r, "errors"))
                           for r in rows.get("error_causes", ())),
    )
