"""Pydantic models of every event on the topics; the `.avsc` files beside this module are generated from them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from servicepulse.domain.personal_data import redact

__all__ = [
    "DATETIME_MAX",
    "DATETIME_MIN",
    "DATE_MAX",
    "DATE_MIN",
    "EVENT_MODELS",
    "INT32_FIELDS",
    "INT64_MAX",
    "INT64_MIN",
    "STRING_MAX",
    "Alert",
    "AlertState",
    "CallEvent",
    "CallEventType",
    "CaseEvent",
    "CaseEventType",
    "Channel",
    "Complaint",
    "ComplaintCategory",
    "ComplaintEventType",
    "DeadLetter",
    "DeadLetterKind",
    "Event",
    "Finding",
    "FindingReview",
    "InvoicePosting",
    "PayCategory",
    "PayLine",
    "PayrollRun",
    "PayrollRunKind",
    "PayrollRunStatus",
    "PostingKind",
    "ReviewVerdict",
    "SampleResult",
    "SampleReview",
    "Severity",
]


# What the ClickHouse columns can hold (connectors/migrations): a value outside these is refused by the
# store, or silently wrapped, so the models refuse it first and the importers reject the line.
DATE_MIN = date(1970, 1, 1)  # ClickHouse Date: 1970-01-01 .. 2149-06-06
DATE_MAX = date(2149, 6, 6)
# DateTime64(3, tz): 1900-01-01 .. 2299-12-31 in the column's zone; a day of margin covers every zone offset.
DATETIME_MIN = datetime(1900, 1, 2, tzinfo=UTC)
DATETIME_MAX = datetime(2299, 12, 30, 23, 59, 59, 999000, tzinfo=UTC)
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
# Integer fields stored as Int32 (every other int is Int64).
INT32_FIELDS = frozenset({"rule_version", "source_partition", "cause_list_version"})
# Strings and bytes: no table has a limit, but a value this long is never a real field of these events.
STRING_MAX = 64 * 1024
# JSON documents and raw payloads carry more; a Kafka message is 1 MiB by default.
LONG_FIELDS = frozenset({"evidence_json", "details_json", "payload"})
LONG_MAX = 4 * 1024 * 1024


def _column_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be stored in the column of field `name`, or None when it fits."""
    if value is None or isinstance(value, bool | StrEnum):
        return None
    if isinstance(value, datetime):
        if not DATETIME_MIN <= value <= DATETIME_MAX:
            return f"{value.isoformat()} is outside {DATETIME_MIN:%Y-%m-%d} .. {DATETIME_MAX:%Y-%m-%d}"
    elif isinstance(value, date):
        if not DATE_MIN <= value <= DATE_MAX:
            return f"{value.isoformat()} is outside {DATE_MIN.isoformat()} .. {DATE_MAX.isoformat()}"
    elif isinstance(value, int):
        low, high = (INT32_MIN, INT32_MAX) if name in INT32_FIELDS else (INT64_MIN, INT64_MAX)
        if not low <= value <= high:
            return f"{value} does not fit in {'Int32' if name in INT32_FIELDS else 'Int64'}"
    elif isinstance(value, str | bytes):
        limit = LONG_MAX if name in LONG_FIELDS else STRING_MAX
        if len(value) > limit:
            return f"{len(value)} characters, at most {limit}"
    elif isinstance(value, list):
        for item in value:
            problem = _column_problem(name, item)
            if problem:
                return problem
    return None


class Event(BaseModel):
    """Base of all topic payloads. `topic_key` names the field used as the Kafka message key."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)
    schema_name: ClassVar[str]
    topic_attr: ClassVar[str]
    topic_key: ClassVar[str]

    @field_validator("*", mode="after")
    @classmethod
    def _fits_column(cls, value: Any, info: ValidationInfo) -> Any:
        # A validator, not narrower field types: the Avro schemas (and their registry ids) stay as they are.
        problem = _column_problem(info.field_name or "", value)
        if problem:
            raise ValueError(f"does not fit its ClickHouse column: {problem}")
        return value

    def key(self) -> bytes:
        return str(getattr(self, self.topic_key)).encode()


# --------------------------------------------------------------------------- contact centre


class Channel(StrEnum):
    phone = "phone"
    email = "email"
    chat = "chat"


class CallEventType(StrEnum):
    offered = "offered"
    answered = "answered"
    abandoned = "abandoned"
    ended = "ended"
    email_received = "email_received"
    email_answered = "email_answered"


class CallEvent(Event):
    """One step of a contact in an answer group (svarsgrupp): phone, chat or e-mail."""

    schema_name = "CallEvent"
    topic_attr = "call_events"
    topic_key = "contact_id"

    event_id: str = Field(min_length=1, description="Unique id of this event (contact id + step)")
    contact_id: str = Field(min_length=1, description="Id of the contact in the source system")
    event_type: CallEventType = Field(description="Step of the contact")
    channel: Channel = Field(description="phone, email or chat")
    queue: str = Field(min_length=1, description="Answer group (svarsgrupp), e.g. payroll-service")
    org: str = Field(min_length=1, description="Organisation owning the answer group")
    occurred_at: AwareDatetime = Field(description="When this step happened")
    offered_at: AwareDatetime | None = Field(None, description="When the contact entered the queue")
    wait_ms: int | None = Field(None, ge=0, description="Queue time until answer or abandon, ms")
    handle_ms: int | None = Field(None, ge=0, description="Talk / handling time, ms (on ended)")
    agent_id: str | None = Field(None, description="Pseudonymous agent id")
    resolved_first_contact: bool | None = Field(None, description="Resolved at first contact (on ended)")
    source: str = Field("unknown", description="Source system: callguide, mailbox, kch, simulator ...")

    @model_validator(mode="after")
    def _offered_before(self) -> CallEvent:
        if self.offered_at is not None and self.offered_at > self.occurred_at:
            raise ValueError("offered_at is after occurred_at")
        return self


# --------------------------------------------------------------------------- finance


class PostingKind(StrEnum):
    ledger_posting = "ledger_posting"
    supplier_invoice = "supplier_invoice"
    customer_invoice = "customer_invoice"
    incoming_payment = "incoming_payment"
    outgoing_payment = "outgoing_payment"


class InvoicePosting(Event):
    """A ledger posting, supplier or customer invoice, or a bank payment, for one company."""

    schema_name = "InvoicePosting"
    topic_attr = "invoice_postings"
    topic_key = "company"

    event_id: str = Field(min_length=1, description="Unique id of this posting")
    kind: PostingKind = Field(description="What the posting is")
    company: str = Field(min_length=1, description="Company (företag) code in the ledger")
    account: str = Field(min_length=1, description="Ledger account, e.g. 9894 for unidentified payments")
    amount_ore: int = Field(description="Amount in öre; debit positive, credit negative")
    currency: str = Field("SEK", min_length=3, max_length=3, description="ISO 4217 currency")
    posting_date: date = Field(description="Accounting date")
    document_date: date | None = Field(None, description="Invoice or voucher date")
    due_date: date | None = Field(None, description="Due date of an invoice")
    voucher_series: str | None = Field(None, description="Voucher series as in the source")
    voucher_number: str | None = Field(None, description="Voucher number as in the source")
    counterparty_id: str | None = Field(None, description="Supplier or customer id")
    counterparty_name: str | None = Field(None, description="Supplier or customer name")
    invoice_number: str | None = Field(None, description="Invoice number")
    reference: str | None = Field(None, description="Payment reference, e.g. OCR number")
    text: str | None = Field(None, description="Posting text")
    registered_by: str | None = Field(None, description="User who registered the document")
    approved_by: str | None = Field(None, description="User who approved (attested) it")
    recorded_at: AwareDatetime = Field(description="When the source system recorded it")
    source: str = Field("unknown", description="agresso, sie4, bgmax, camt054, simulator ...")

    @field_validator("text")
    @classmethod
    def _no_personnummer_in_text(cls, value: str | None) -> str | None:
        # Posting texts are typed by people ("Lön 800101-1234 retur"): a personnummer never enters a topic or
        # a table through them. References are left alone: an OCR number may look like one and must match.
        return redact(value) if value else value

    @property
    def amount(self) -> Decimal:
        return Decimal(self.amount_ore) / 100


# --------------------------------------------------------------------------- payroll


class PayrollRunKind(StrEnum):
    main = "main"
    urgent = "urgent"


class PayrollRunStatus(StrEnum):
    opened = "opened"
    closed = "closed"


class PayrollRun(Event):
    """Header of a payroll run: sent when the run opens and again, with totals, when it closes."""

    schema_name = "PayrollRun"
    topic_attr = "payroll_runs"
    topic_key = "run_id"

    event_id: str = Field(min_length=1, description="run id + status")
    run_id: str = Field(min_length=1, description="Id of the payroll run")
    kind: PayrollRunKind = Field(description="main (monthly huvudkörning) or urgent payment")
    status: PayrollRunStatus = Field(description="opened or closed")
    customer: str = Field(min_length=1, description="Customer department or company the run pays")
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="Pay period, YYYY-MM")
    pay_date: date = Field(description="Date the money reaches the employees")
    payment_channel: str | None = Field(None, description="bank file, girovision or agresso")
    line_count: int | None = Field(None, ge=0, description="Pay lines in the run (on closed)")
    gross_ore: int | None = Field(None, description="Sum of gross lines, öre (on closed)")
    net_ore: int | None = Field(None, description="Sum of net pay, öre (on closed)")
    occurred_at: AwareDatetime = Field(description="When the run opened or closed")
    source: str = Field("unknown", description="personec, visma, paxml, simulator ...")


class PayCategory(StrEnum):
    gross = "gross"
    deduction = "deduction"
    tax = "tax"
    net = "net"
    pension = "pension"
    benefit = "benefit"
    travel = "travel"
    per_diem = "per_diem"
    other = "other"


class PayLine(Event):
    """One pay line of a run: one employee, one pay type (lönart)."""

    schema_name = "PayLine"
    topic_attr = "payroll_lines"
    topic_key = "employee_id"

    event_id: str = Field(min_length=1, description="run id + line number")
    run_id: str = Field(min_length=1, description="Payroll run the line belongs to")
    line_no: int = Field(ge=0, description="Line number within the run")
    employee_id: str = Field(min_length=1, description="Employment id (anstid); never a personnummer")
    customer: str = Field(min_length=1, description="Customer department or company")
    pay_type: str = Field(min_length=1, description="Pay type code (lönart)")
    pay_type_name: str | None = Field(None, description="Pay type name")
    category: PayCategory = Field(description="gross, tax, net, pension, travel, per_diem ...")
    quantity: Decimal | None = Field(None, max_digits=18, decimal_places=4, description="antal")
    unit_price_ore: int | None = Field(None, description="apris in öre")
    amount_ore: int = Field(description="belopp in öre")
    work_date: date | None = Field(None, description="Date the line refers to (datum)")
    period_from: date | None = Field(None, description="Start of the period a retroactive line covers")
    period_to: date | None = Field(None, description="End of that period")
    cost_account: str | None = Field(None, description="Ledger account (kontonr)")
    occurred_at: AwareDatetime = Field(description="When the line was registered")
    source: str = Field("unknown", description="Source system")


# --------------------------------------------------------------------------- complaints


class ComplaintEventType(StrEnum):
    registered = "registered"
    acknowledged = "acknowledged"
    closed = "closed"


class ComplaintCategory(StrEnum):
    complaint = "complaint"
    opinion = "opinion"
    praise = "praise"


class Complaint(Event):
    """A complaint, opinion or praise (klagomål, synpunkt, beröm) and its later steps."""

    schema_name = "Complaint"
    topic_attr = "complaints"
    topic_key = "complaint_id"

    event_id: str = Field(min_length=1, description="complaint id + step")
    complaint_id: str = Field(min_length=1, description="Id of the registration")
    event_type: ComplaintEventType = Field(description="registered, acknowledged or closed")
    occurred_at: AwareDatetime = Field(description="When the step happened")
    customer: str = Field(min_length=1, description="Customer department (förvaltning) or company")
    process: str = Field(min_length=1, description="Process, e.g. payroll, supplier-invoices")
    channel: str = Field(min_length=1, description="tyck_till, kundwebb, staff, phone, email")
    category: ComplaintCategory = Field(description="complaint, opinion or praise")
    registered_by: str | None = Field(None, description="Pseudonymous staff id")
    summary: str | None = Field(None, description="Short text; no personal data")
    source: str = Field("unknown", description="Source system")


# --------------------------------------------------------------------------- cases


class CaseEventType(StrEnum):
    opened = "opened"
    closed = "closed"


class CaseEvent(Event):
    """A case in the payroll & pension case system: opened, then closed when the work is done."""

    schema_name = "CaseEvent"
    topic_attr = "cases"
    topic_key = "case_id"

    event_id: str = Field(min_length=1, description="case id + step")
    case_id: str = Field(min_length=1, description="Id of the case in the case system")
    event_type: CaseEventType = Field(description="opened or closed")
    case_type: str = Field(
        min_length=1,
        description="new_hire, personal_data_update, name_change, employer_certificate, urgent_girovision, "
        "urgent_agresso ...",
    )
    unit: str = Field(min_length=1, description="Unit handling the case, e.g. payroll-service")
    customer: str = Field(min_length=1, description="Customer department or company")
    occurred_at: AwareDatetime = Field(description="When the case was opened or closed")
    source: str = Field("unknown", description="Case system, simulator ...")


# --------------------------------------------------------------------------- outputs


class Severity(StrEnum):
    info = "info"
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class Finding(Event):
    """A control flag: which rule, which version, how severe, and the evidence behind it."""

    schema_name = "Finding"
    topic_attr = "findings"
    topic_key = "subject_id"

    finding_id: str = Field(min_length=1, description="Deterministic id: same evidence gives same id")
    rule_id: str = Field(min_length=1, description="e.g. payroll.negative_net")
    rule_version: int = Field(ge=1, description="Version of the rule's logic and parameters")
    severity: Severity = Field(description="info .. critical")
    subject_type: str = Field(min_length=1, description="employee, voucher, payment, queue ...")
    subject_id: str = Field(min_length=1, description="Pseudonymous subject id (anstid, voucher ...)")
    company: str | None = Field(None, description="Company or customer concerned")
    occurred_at: AwareDatetime = Field(description="When the flagged thing happened")
    detected_at: AwareDatetime = Field(description="When the rule fired")
    summary: str = Field(min_length=1, description="One line for people")
    evidence_json: str = Field(description="JSON: lines, previous values, thresholds")
    source_event_ids: list[str] = Field(default_factory=list, description="Events the finding rests on")


class AlertState(StrEnum):
    raised = "raised"
    resolved = "resolved"


class Alert(Event):
    """A target breach or fired control for team chat; raised once and resolved once per breach."""

    schema_name = "Alert"
    topic_attr = "alerts"
    topic_key = "alert_key"

    alert_id: str = Field(min_length=1, description="Deterministic id of this raise or resolve")
    alert_key: str = Field(min_length=1, description="Identity of the ongoing breach")
    state: AlertState = Field(description="raised or resolved")
    severity: Severity = Field(description="info .. critical")
    rule_id: str = Field(min_length=1, description="Rule or target that fired")
    rule_version: int = Field(ge=1, description="Version of that rule")
    title: str = Field(min_length=1, description="One line for people; no personal data")
    measured_value: float | None = Field(None, description="Measured value (a ratio or a count)")
    target: float | None = Field(None, description="Target the value is compared with")
    unit: str | None = Field(None, description="ratio, seconds, count, SEK ...")
    window_start: AwareDatetime | None = Field(None, description="Window measured")
    window_end: AwareDatetime | None = Field(None, description="End of the window")
    occurred_at: AwareDatetime = Field(description="When the alert was raised or resolved")
    details_json: str = Field("{}", description="JSON with the evidence")


class DeadLetterKind(StrEnum):
    undecodable = "undecodable"
    unknown_schema = "unknown_schema"
    invalid = "invalid"
    rejected = "rejected"
    refused = "refused"


class DeadLetter(Event):
    """Input that could not be used, with the reason and where it came from."""

    schema_name = "DeadLetter"
    topic_attr = "dead_letters"
    topic_key = "source_topic"

    source_topic: str = Field(description="Topic, or file name for ingest errors")
    source_partition: int = Field(description="Partition; -1 for files")
    source_offset: int = Field(description="Offset; line or record number for files")
    kind: DeadLetterKind = Field(description="undecodable, unknown_schema, invalid, rejected, refused")
    reason: str = Field(min_length=1, description="Why it was rejected, for people")
    schema_id: int | None = Field(None, description="Schema id in the message header, if any")
    stage: str = Field(description="Where it failed: sink, ingest:<format>, parser ...")
    source_key: bytes | None = Field(None, description="Raw message key")
    payload: bytes = Field(description="Raw payload as received")
    failed_at: AwareDatetime = Field(description="When it was rejected")

    @field_validator("reason", "payload", mode="before")
    @classmethod
    def _truncated(cls, value: Any, info: ValidationInfo) -> Any:
        # A dead letter must always be constructible: an oversized reason or payload is cut, never refused.
        limit = LONG_MAX if info.field_name == "payload" else STRING_MAX
        if info.field_name == "reason" and isinstance(value, str):
            value = redact(value)  # reasons quote input values, and dead letters are shown to operators
        return value[:limit] if isinstance(value, str | bytes) and len(value) > limit else value

    def key(self) -> bytes:
        # All dead letters of one source partition share a key, so their order follows the source.
        return f"{self.source_topic}:{self.source_partition}".encode()


# --------------------------------------------------------------------------- reviews


class ReviewVerdict(StrEnum):
    confirmed = "confirmed"
    false_positive = "false_positive"
    needs_info = "needs_info"


class FindingReview(Event):
    """An auditor's conclusion on a finding; append-only: the latest review of a finding is its status."""

    schema_name = "FindingReview"
    topic_attr = "finding_reviews"
    topic_key = "finding_id"

    review_id: str = Field(min_length=1, description="Deterministic id of this review (finding, reviewer, time ...)")
    finding_id: str = Field(min_length=1, description="The finding reviewed (findings.finding_id)")
    rule_id: str = Field(min_length=1, description="Rule of that finding")
    verdict: ReviewVerdict = Field(description="confirmed, false_positive or needs_info")
    cause: str | None = Field(None, description="Cause code (review_causes); required when confirmed")
    cause_list_version: int = Field(ge=0, description="Version of the cause list the code was taken from")
    note: str | None = Field(None, description="Free text, reduced (personal_data.redact_free_text) before it is sent")
    reviewer: str = Field(min_length=1, description="Who reviewed: a staff user name, never a personnummer")
    reviewed_at: AwareDatetime = Field(description="When the review was recorded")
    source: str = Field("cli", description="cli, or csv:<file name> for a batch")

    @field_validator("note", "reviewer")
    @classmethod
    def _no_personnummer(cls, value: str | None) -> str | None:
        return redact(value) if value else value


class SampleResult(StrEnum):
    ok = "ok"
    error = "error"


class SampleReview(Event):
    """An auditor's result for one sampled pay document (stickprov): OK, or an error with its cause."""

    schema_name = "SampleReview"
    topic_attr = "sample_reviews"
    topic_key = "run_id"

    review_id: str = Field(min_length=1, description="Deterministic id of this review")
    run_id: str = Field(min_length=1, description="Payroll run the sample was drawn from (payroll_samples.run_id)")
    document: str = Field(min_length=1, description="The sampled pay document: anstid, or a protected person's "
                          "pseudonym, as in payroll_samples.documents")
    result: SampleResult = Field(description="ok or error")
    cause: str | None = Field(None, description="Cause code (review_causes); required for an error")
    cause_list_version: int = Field(ge=0, description="Version of the cause list the code was taken from")
    note: str | None = Field(None, description="Free text, reduced (personal_data.redact_free_text) before it is sent")
    reviewer: str = Field(min_length=1, description="Who reviewed: a staff user name, never a personnummer")
    reviewed_at: AwareDatetime = Field(description="When the review was recorded")
    source: str = Field("cli", description="cli")

    @field_validator("note", "reviewer")
    @classmethod
    def _no_personnummer(cls, value: str | None) -> str | None:
        return redact(value) if value else value


EVENT_MODELS: tuple[type[Event], ...] = (
    CallEvent,
    InvoicePosting,
    PayrollRun,
    PayLine,
    Complaint,
    Finding,
    Alert,
    DeadLetter,
    CaseEvent,
    FindingReview,
    SampleReview,
)
