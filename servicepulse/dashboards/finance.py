"""Finance administration dashboard (finance.json): ledger volumes, account 9894 against its goal, findings."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

DASHBOARD = Dashboard(
    module="finance",
    file="finance.json",
    uid="servicepulse-finance",
    title="Finance administration",
    description=(
        "Ledger volumes, unidentified payments on account 9894 against the yearly goal (business_targets), "
        "and suspense-posting findings."
    ),
    tags=("servicepulse", "finance"),
    refresh="5m",
    time_from="now-30d",
    variables=(),
    items=(
        Row("Ledger volumes"),
        Panel(
            "timeseries",
            "Postings per day by kind",
            "postings_per_day_by_kind",
            "Ledger postings, supplier and customer invoices and payments per posting date (a Stockholm calendar day).",
            w=24,
            h=8,
            unit="short",
            label="kind",
            bars=True,
            stacked=True,
            legend=("sum", "mean"),
        ),
        Row("Account 9894 — unidentified incoming payments (KassaBank)"),
        Panel(
            "stat",
            "9894 postings, year to date vs same period last year",
            "suspense_postings_year_to_date_vs",
            "Unidentified incoming payments booked to 9894 (credit postings; the re-bookings that clear them are not "
            "counted), 1 January to the end of the selected range, compared with the same period a year earlier. "
            "Goal: `suspense_yearly_change` in business_targets (−3 % in the shipped parameters).",
            w=6,
            h=8,
            unit="percent",
            decimals=1,
            steps=(("green", None), ("red", -2.9)),
            color_mode="background",
        ),
        Panel(
            "table",
            "9894 per company — year to date vs last year, against the goal",
            "suspense_per_company_year_to_date",
            "Per company: credit postings on 9894 from 1 January to the end of the selected range, the same period "
            "last year, the change and whether the yearly goal (business_targets) is met.",
            w=18,
            h=8,
            columns=(
                Column("change_pct", unit="percent", color_text=True, target=True),
                Column("goal_pct", unit="percent"),
            ),
        ),
        Panel(
            "timeseries",
            "9894 postings per company per day",
            "suspense_postings_per_company_per_day",
            "Unidentified incoming payments (credit postings on 9894) per company and posting date.",
            w=24,
            h=8,
            unit="short",
            label="company",
            bars=True,
            stacked=True,
        ),
        Panel(
            "table",
            "Findings: postings to the suspense account (gl.suspense_posting)",
            "findings_postings_to_the_suspense_account",
            "Control findings raised by rule gl.suspense_posting in the selected range (findings are read with FINAL:"
            " they are collapsed on deterministic ids). Evidence for each finding is in findings.evidence_json "
            "(auditors query ClickHouse).",
            w=24,
            h=10,
            sort_by="occurred_at",
        ),
    ),
)
