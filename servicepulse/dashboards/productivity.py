"""Productivity dashboard (productivity.json): payslips and invoices per FTE and month against the targets."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

_MET = Column("target_met", display="target", color_text=True,
              value_colors=(("met", "green"), ("below", "red"), ("no staffing", "text")))

DASHBOARD = Dashboard(
    module="productivity",
    file="productivity.json",
    uid="servicepulse-productivity",
    title="Productivity",
    description="Payslips per payroll administrator and supplier and customer invoices per full-time employee, "
    "per month, against the targets in business_targets (parameters file); staffing from staffing_fte.",
    tags=("servicepulse", "payroll", "finance", "productivity"),
    refresh="1h",
    time_from="now-1y",
    items=(
        Row("Payroll"),
        Panel("table", "Payslips per FTE and month vs target", "payslips_per_fte",
              "Payslips (employees paid in a main run of the period) per payroll administrator FTE and month, "
              "against payslips_per_fte. Months of the selected range.", w=14, h=9, columns=(_MET,)),
        Panel("barchart", "Payslips per FTE per month", "payslips_per_fte_chart",
              "Payslips per FTE per month beside the target.", w=10, h=9, unit="short", x_field="month"),
        Row("Finance"),
        Panel("table", "Invoices per FTE and month vs target", "invoices_per_fte",
              "Supplier and customer invoices per FTE of their teams and month, against supplier_invoices_per_fte "
              "and customer_invoices_per_fte. Months of the selected range.", w=14, h=9, columns=(_MET,)),
        Panel("barchart", "Invoices per FTE per month", "invoices_per_fte_chart",
              "Supplier and customer invoices per FTE per month beside their targets.", w=10, h=9, unit="short",
              x_field="month"),
    ),
)
