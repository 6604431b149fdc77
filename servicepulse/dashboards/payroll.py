"""Payroll & pension dashboard (payroll.json): runs, pay-line volumes and urgent payments, aggregates only."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

DASHBOARD = Dashboard(
    module="payroll",
    file="payroll.json",
    uid="servicepulse-payroll",
    title="Payroll & pension",
    description=(
        "Payroll runs, pay-line volumes and urgent payments per customer. Aggregates only: protected identity"
        " (skyddad identitet) means no employee-level data is shown here."
    ),
    tags=("servicepulse", "payroll"),
    refresh="5m",
    time_from="now-90d",
    variables=(),
    items=(
        Row("Payroll runs (aggregates only — no employee-level data on this dashboard)"),
        Panel(
            "stat",
            "Closed runs",
            "closed_runs",
            "Payroll runs (main and urgent) closed in the selected range.",
            w=6,
            h=4,
            unit="short",
            steps=(("blue", None),),
        ),
        Panel(
            "stat",
            "Pay lines in closed runs",
            "pay_lines_in_closed_runs",
            "Sum of the line counts of the runs closed in the selected range.",
            w=6,
            h=4,
            unit="short",
            steps=(("blue", None),),
        ),
        Panel(
            "stat",
            "Gross pay, main runs",
            "gross_pay_main_runs",
            "Gross pay (SEK) of the main runs (huvudkörningar) closed in the selected range.",
            w=6,
            h=4,
            unit="currencySEK",
            decimals=0,
            steps=(("blue", None),),
        ),
        Panel(
            "stat",
            "Urgent runs",
            "urgent_runs",
            "Urgent payments (via Girovision or Agresso) closed in the selected range.",
            w=6,
            h=4,
            unit="short",
            steps=(("blue", None),),
        ),
        Panel(
            "table",
            "Closed main runs",
            "closed_main_runs",
            "Main runs (huvudkörningar) closed in the selected range: the header's line count, the pay lines actually"
            " received for the run (a difference means missing or extra lines), gross and net pay in SEK. Urgent runs"
            " usually pay one or two people, so their amounts would be individual pay: they are shown as counts only.",
            w=24,
            h=9,
            columns=(
                Column("gross_sek|net_sek", regexp=True, unit="currencySEK", decimals=0),
                Column("line_difference", color_text=True, steps=(("red", None), ("green", 0), ("red", 1))),
            ),
        ),
        Panel(
            "barchart",
            "Pay lines per run",
            "pay_lines_per_run",
            "Pay lines received per run (all kinds) for the runs closed in the selected range.",
            w=12,
            h=10,
            unit="short",
            x_field="run_id",
        ),
        Panel(
            "barchart",
            "Urgent runs per customer",
            "urgent_runs_per_customer",
            "Urgent payment runs closed in the selected range per customer (department / company) and payment "
            "channel. Lead-time targets: Girovision day 1–5, Agresso day 1–2.",
            w=12,
            h=10,
            unit="short",
            stacked=True,
            x_field="customer",
        ),
        Panel(
            "timeseries",
            "Urgent runs per day",
            "urgent_runs_per_day",
            "Urgent payment runs closed per Stockholm day, per customer.",
            w=24,
            h=8,
            unit="short",
            label="customer",
            bars=True,
            stacked=True,
        ),
    ),
)
