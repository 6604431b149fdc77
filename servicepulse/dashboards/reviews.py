"""Review dashboard for auditors (reviews.json): review status per rule and error causes per month and tertial.

Written against the review views `v_review_status_by_rule` and `v_error_causes_monthly` (findings review,
issue 12): the integration test runs these panels once the views exist in the schema and skips them before.
"""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

DASHBOARD = Dashboard(
    module="reviews",
    file="reviews.json",
    uid="servicepulse-reviews",
    title="Findings review",
    description="For internal control's auditors: how far the findings of each rule have been reviewed and with "
    "which verdicts, and the causes of the errors found per month and tertial.",
    tags=("servicepulse", "controls", "audit"),
    refresh="5m",
    time_from="now-1y",
    items=(
        Row("Review status"),
        Panel("table", "Review status per rule", "status_per_rule",
              "Per rule: findings, reviewed, share reviewed, verdicts (confirmed, false positive, needs information) "
              "and findings still open. All findings: not limited by the time range.", w=14, h=10,
              columns=(Column("reviewed_pct", display="reviewed", unit="percent"),
                       Column("open", color_text=True, steps=(("green", None), ("orange", 1))))),
        Panel("barchart", "Verdicts per rule", "status_per_rule_chart",
              "Confirmed, false positive, needs information and open findings per rule.", w=10, h=10, unit="short",
              x_field="rule_id", stacked=True),
        Row("Error causes"),
        Panel("table", "Error causes per month", "causes_per_month",
              "Errors found in review per cause and month (and its tertial) for the months of the selected range.",
              w=14, h=10),
        Panel("barchart", "Errors per cause", "causes_chart",
              "Errors per cause over the months of the selected range, most frequent first.", w=10, h=10,
              unit="short", x_field="cause_label_sv"),
        Panel("table", "Error causes per tertial", "causes_per_tertial",
              "Errors per cause and tertial (T1 January-April, T2 May-August, T3 September-December).", w=24, h=8),
    ),
)
