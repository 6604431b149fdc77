"""Payment controls dashboard (payment-controls.json): bank and ledger findings, open 9894 items and their age."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

DASHBOARD = Dashboard(
    module="payment_controls",
    file="payment-controls.json",
    uid="servicepulse-payment-controls",
    title="Payment controls",
    description="Findings of the bank and ledger controls (bank.*, gl.*) per rule and day, and the open items on "
    "account 9894 (unidentified incoming payments) with their age in working days.",
    tags=("servicepulse", "finance", "controls"),
    refresh="5m",
    time_from="now-30d",
    items=(
        Row("Findings of the bank and ledger controls"),
        Panel("timeseries", "Bank and ledger findings per rule and day", "findings_per_rule_and_day",
              "Findings of the rules bank.* and gl.* per rule and Stockholm day of the flagged event "
              "(findings read with FINAL).", w=16, h=9, unit="short", label="rule_id", bars=True, stacked=True),
        Panel("table", "Bank and ledger findings per rule and severity", "findings_per_rule",
              "Findings of the selected range per rule, rule version and severity: how many, in how many companies, "
              "first and last. Evidence is in findings.evidence_json for auditors.", w=8, h=9),
        Row("Account 9894 — open items now"),
        Panel("stat", "Open 9894 items now", "open_items_now",
              "Items on the unidentified-payments account not yet cleared by a re-booking (v_suspense_open_items). "
              "The state now: not limited by the time range.", w=6, h=8, unit="short", steps=(("blue", None),)),
        Panel("table", "Open 9894 items per company and age", "open_items_per_company",
              "Open items now per company: count, open amount, the oldest and mean age in working days, and how many "
              "are older than the gl.suspense_aged limit (parameters file). Not limited by the time range.",
              w=18, h=8, columns=(Column("open_sek", unit="currencySEK", decimals=0),
                                  Column("aged", color_text=True, steps=(("green", None), ("red", 1))))),
        Panel("barchart", "Open 9894 items by age band (working days)", "open_items_by_age",
              "Open items now by age in working days; 'aged' is above the gl.suspense_aged limit.",
              w=8, h=9, unit="short", x_field="age_band"),
        Panel("table", "Oldest open 9894 items", "oldest_open_items",
              "The hundred oldest open items now: company, voucher, open amount, opening day and age in working days.",
              w=16, h=9, columns=(Column("amount_sek", unit="currencySEK", decimals=0),)),
    ),
)
