"""One valid example of every event model, for round-trip and mapper tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from servicepulse.schemas.events import (
    Alert,
    CallEvent,
    CaseEvent,
    Complaint,
    DeadLetter,
    Event,
    Finding,
    FindingReview,
    InvoicePosting,
    PayLine,
    PayrollRun,
    SampleReview,
)

T0 = datetime(2026, 3, 12, 9, 15, 30, 250000, tzinfo=UTC)


def examples() -> list[Event]:
    return [
        CallEvent(event_id="c1:answered", contact_id="c1", event_type="answered", channel="phone",
                  queue="payroll-service", org="Lön & pension", occurred_at=T0, offered_at=T0, wait_ms=42_000,
                  agent_id="agent-7", source="test"),
        InvoicePosting(event_id="p1", kind="incoming_payment", company="1010", account="9894", amount_ore=-125_050,
                       posting_date=date(2026, 3, 12), voucher_series="B", voucher_number="4711",
                       reference="1234567897", text="Oidentifierad inbetalning", recorded_at=T0, source="test"),
        PayrollRun(event_id="r1:closed", run_id="r1", kind="main", status="closed", customer="Socialförvaltningen",
                   period="2026-03", pay_date=date(2026, 3, 25), line_count=3, gross_ore=4_000_000,
                   net_ore=2_900_000, occurred_at=T0, source="test"),
        PayLine(event_id="r1:1", run_id="r1", line_no=1, employee_id="A000123", customer="Socialförvaltningen",
                pay_type="11", pay_type_name="Månadslön", category="gross", quantity=Decimal("1.5"),
                unit_price_ore=3_000_000, amount_ore=4_000_000, work_date=date(2026, 3, 1),
                period_from=date(2026, 3, 1), period_to=date(2026, 3, 31), cost_account="5010",
                occurred_at=T0, source="test"),
        Complaint(event_id="k1:registered", complaint_id="k1", event_type="registered", occurred_at=T0,
                  customer="Utbildningsförvaltningen", process="payroll", channel="tyck_till", category="complaint",
                  summary="Fel på lönespecifikation", source="test"),
        Finding(finding_id="f1", rule_id="gl.suspense_posting", rule_version=1, severity="low",
                subject_type="voucher", subject_id="1010:B4711", company="1010", occurred_at=T0, detected_at=T0,
                summary="s", evidence_json="{}", source_event_ids=["p1"]),
        Alert(alert_id="a1", alert_key="sla:payroll-service", state="raised", severity="high", rule_id="sla.level",
              rule_version=1, title="Service level below target", measured_value=0.6, target=0.85, unit="ratio",
              window_start=T0, window_end=T0, occurred_at=T0, details_json="{}"),
        CaseEvent(event_id="case1:opened", case_id="case1", event_type="opened", case_type="new_hire",
                  unit="payroll-service", customer="Socialförvaltningen", occurred_at=T0, source="test"),
        DeadLetter(source_topic="call-events", source_partition=2, source_offset=17, kind="undecodable",
                   reason="bad", stage="sink:call_events", source_key=b"k", payload=b"\x00\x01", failed_at=T0),
        FindingReview(review_id="rv1", finding_id="f1", rule_id="payroll.negative_net", verdict="confirmed",
                      cause="registration_error", cause_list_version=1, note="*** 2026-03", reviewer="auditor1",
                      reviewed_at=T0, source="cli"),
        SampleReview(review_id="sr1", run_id="SOC-2026-03-main", document="A1001", result="error",
                     cause="wrong_pay_type", cause_list_version=1, note=None, reviewer="auditor1", reviewed_at=T0),
    ]


# Raw tables that only people fill (auditors' reviews, typed in with `servicepulse findings review`): the demo and
# the simulator never write them, so "every raw table filled" leaves them out.
HUMAN_INPUT_TABLES = frozenset({"finding_reviews", "sample_reviews"})
