"""Complaints dashboard (complaints.json): registrations per customer and process, acknowledgement, backlog."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

DASHBOARD = Dashboard(
    module="complaints",
    file="complaints.json",
    uid="servicepulse-complaints",
    title="Complaints",
    description="Complaints, opinions and praise per customer and process, acknowledged within the limit in office "
    "hours (complaints.ack_deadline in the parameters file), and the open backlog.",
    tags=("servicepulse", "operations", "complaints"),
    refresh="5m",
    time_from="now-30d",
    items=(
        Row("Registered"),
        Panel("timeseries", "Registered per day by category", "registered_per_day",
              "Complaints, opinions and praise registered per Stockholm day.", w=16, h=8, unit="short",
              label="category", bars=True, stacked=True),
        Panel("stat", "Acknowledged within the limit", "acknowledged_in_time",
              "Of the registrations in the selected range acknowledged so far: the share acknowledged within the "
              "limit in office hours (sla_settings.ack_office_hours, from the parameters file).",
              w=8, h=8, unit="percent", decimals=1, steps=(("blue", None),)),
        Panel("table", "Per customer and process — selected period", "per_customer_and_process",
              "Registered in the selected range per customer and process: acknowledged, acknowledged within the "
              "limit in office hours, mean office hours to acknowledgement, closed.", w=24, h=9,
              columns=(Column("in_time_pct", display="acknowledged in time", unit="percent"),
                       Column("mean_ack_office_hours", display="mean office hours to acknowledge"))),
        Row("Backlog"),
        Panel("stat", "Open complaints now", "backlog_now",
              "Registered and not closed, and of those not yet acknowledged. The state now: not limited by the time "
              "range.", w=6, h=8, unit="short", steps=(("blue", None),), reduce_values=True),
        Panel("table", "Open complaints per customer and process — now", "backlog_per_customer",
              "Open complaints now per customer and process, unacknowledged ones and the oldest one's age in hours.",
              w=18, h=8),
        Panel("timeseries", "Open complaints at the end of each day", "backlog_per_day",
              "Registered and not closed at the end of each Stockholm day of the selected range, per customer.",
              w=24, h=8, unit="short", label="customer", legend=("max", "lastNotNull")),
    ),
)
