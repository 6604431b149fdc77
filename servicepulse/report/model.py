"""The typed report model: what the figures function returns and the templates and JSON output read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "BacklogRow",
    "CaseRow",
    "ComplaintRow",
    "DeadLetterRow",
    "Direction",
    "EmailRow",
    "ErrorCauseRow",
    "FindingRow",
    "Light",
    "Measure",
    "ProductivityRow",
    "QueueRow",
    "Report",
    "ReviewStatusRow",
    "SampleRow",
    "SuspenseRow",
    "TrendPoint",
    "Unit",
]


class Light(StrEnum):
    """Traffic light of a target: met, missed within the margin, missed, or nothing measured."""

    green = "green"
    yellow = "yellow"
    red = "red"
    none = "none"


class Direction(StrEnum):
    """Whether a value at or above the target meets it (shares, volumes) or at or below it (9894 change)."""

    at_least = "at_least"
    at_most = "at_most"


class Unit(StrEnum):
    ratio = "ratio"  # 0-1, shown as a percentage
    per_fte = "per_fte"  # volume per full-time employee and month
    change = "change"  # relative change, -0.03 = 3 % fewer


@dataclass(frozen=True)
class TrendPoint:
    month: str
    value: float | None
    light: Light = Light.none  # that month's value against the target


@dataclass(frozen=True)
class Measure:
    """One target of the service agreements: measured value, target, light and monthly trend."""

    key: str  # stable id, e.g. contact.service_level:payroll-service
    area: str  # contact, email, cases, complaints, productivity, finance
    measure: str  # message key of what is measured
    subject: str  # answer group, case type ... ('' when the measure is for everything)
    value: float | None
    target: float | None
    unit: Unit
    direction: Direction
    light: Light
    basis: int  # how many items the value rests on (contacts, e-mails, cases ...)
    trend: tuple[TrendPoint, ...]


@dataclass(frozen=True)
class QueueRow:
    queue: str
    org: str
    threshold_s: int
    offered: int
    answered: int
    service_level: float | None
    asa_s: float | None
    abandonment: float | None
    fcr: float | None


@dataclass(frozen=True)
class EmailRow:
    queue: str
    received: int
    answered: int
    answered_in_time: int
    open_overdue: int
    share_in_time: float | None
    mean_office_hours: float | None


@dataclass(frozen=True)
class CaseRow:
    case_type: str
    limit_days: int
    opened: int
    closed: int
    closed_in_time: int
    open_overdue: int
    share_in_time: float | None


@dataclass(frozen=True)
class ComplaintRow:
    customer: str
    process: str
    registered: int
    acknowledged: int
    acknowledged_in_time: int
    closed: int


@dataclass(frozen=True)
class BacklogRow:
    customer: str
    open: int


@dataclass(frozen=True)
class ProductivityRow:
    month: str
    kind: str  # payslips, supplier_invoice, customer_invoice
    volume: int
    fte: float | None
    per_fte: float | None
    target: float | None


@dataclass(frozen=True)
class SuspenseRow:
    company: str
    postings: int
    previous_year: int
    change: float | None
    open_items: int
    open_ore: int
    max_age_days: int | None
    mean_age_days: float | None
    aged: int


@dataclass(frozen=True)
class FindingRow:
    rule_id: str
    severity: str
    findings: int


@dataclass(frozen=True)
class SampleRow:
    method: str
    samples: int
    runs: int
    documents: int


@dataclass(frozen=True)
class DeadLetterRow:
    source: str
    kind: str
    dead_letters: int


@dataclass(frozen=True)
class ReviewStatusRow:
    """Review status of one rule's findings: findings = reviewed + open; open includes needs_info."""

    rule_id: str
    findings: int
    reviewed: int
    confirmed: int
    false_positive: int
    needs_info: int
    open: int


@dataclass(frozen=True)
class ErrorCauseRow:
    """Errors found (confirmed findings, sampled documents in error) with one cause."""

    cause: str
    label_sv: str
    label_en: str
    findings: int
    samples: int
    errors: int


@dataclass(frozen=True)
class Report:
    """Everything the report shows; aggregate figures only, never a person."""

    period_kind: str
    period: str
    start: date
    end: date
    months: tuple[str, ...]
    customer: str | None
    generated_on: date
    measures: tuple[Measure, ...]
    queues: tuple[QueueRow, ...]
    emails: tuple[EmailRow, ...]
    cases: tuple[CaseRow, ...]
    complaints: tuple[ComplaintRow, ...]
    backlog_trend: tuple[TrendPoint, ...]  # open complaints at the end of each month
    backlog: tuple[BacklogRow, ...]  # open complaints per customer at the end of the period
    productivity: tuple[ProductivityRow, ...]
    suspense: tuple[SuspenseRow, ...]
    suspense_open_on: date
    findings: tuple[FindingRow, ...]
    samples: tuple[SampleRow, ...]
    dead_letters: tuple[DeadLetterRow, ...]
    review_status: tuple[ReviewStatusRow, ...] = ()
    error_causes: tuple[ErrorCauseRow, ...] = ()
