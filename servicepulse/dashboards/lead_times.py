"""Lead times dashboard (lead-times.json): e-mail and case lead times against their limits."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row

DASHBOARD = Dashboard(
    module="lead_times",
    file="lead-times.json",
    uid="servicepulse-lead-times",
    title="Lead times",
    description="E-mails to function mailboxes against the limit in working days (contact.email_deadline) and "
    "cases against their limits 'day 1-N' (contact.case_lead_time), both from the parameters file.",
    tags=("servicepulse", "operations", "lead-times"),
    refresh="5m",
    time_from="now-30d",
    items=(
        Row("E-mail (function mailboxes)"),
        Panel("table", "E-mail lead time per answer group vs the limit", "email_per_answer_group",
              "E-mails received in the selected range per answer group: answered within the limit (working days "
              "of office hours), answered late, still open past the limit, mean office hours to answer, and the "
              "limit in office hours.", w=24, h=8,
              columns=(Column("in_time_pct", display="answered in time", unit="percent"),
                       Column("open_overdue", color_text=True, steps=(("green", None), ("red", 1))))),
        Panel("timeseries", "E-mails answered within the limit, per day of receipt", "email_in_time_per_day",
              "Of the e-mails received on each Stockholm day and answered: the share answered within the limit.",
              w=24, h=8, unit="percent", min=0, max=100, label="queue", legend=("mean", "min")),
        Row("Cases (payroll & pension)"),
        Panel("table", "Case lead times per case type vs the limit", "cases_per_type",
              "Timed cases opened in the selected range per case type: the limit 'day 1-N' in working days, closed, "
              "closed by the deadline, still open past it, mean lead time in calendar days.", w=24, h=8,
              columns=(Column("in_time_pct", display="closed in time", unit="percent"),
                       Column("open_overdue", color_text=True, steps=(("green", None), ("red", 1))))),
        Panel("timeseries", "Cases closed within the limit, per week opened", "cases_in_time_per_week",
              "Of the timed cases opened in each week (from Monday) and closed: the share closed by the deadline.",
              w=24, h=8, unit="percent", min=0, max=100, label="case_type", legend=("mean", "min"),
              interval="1w"),
    ),
)
