"""Contact centre dashboard (contact-centre.json): calls, chats and e-mail per answer group."""

from __future__ import annotations

from .panels import Column, Dashboard, Panel, Row, Variable

DASHBOARD = Dashboard(
    module="contact_centre",
    file="contact-centre.json",
    uid="servicepulse-contact-centre",
    title="Contact centre",
    description=(
        "Calls, chats and e-mail per answer group (svarsgrupp): volumes, service level, ASA, first-contact "
        "resolution."
    ),
    tags=("servicepulse", "operations", "contact-centre"),
    refresh="1m",
    time_from="now-7d",
    variables=(Variable("queue", "Answer group", "SELECT DISTINCT queue FROM call_events ORDER BY queue"),),
    items=(
        Row("Calls and chats per answer group"),
        Panel(
            "timeseries",
            "Offered, answered, abandoned — $queue",
            "offered_answered_abandoned",
            "Contacts (phone and chat) offered to, answered in and abandoned from the answer group, per interval. One"
            " panel per selected answer group. Abandoned includes short abandons (≤ 5 s).",
            w=8,
            h=8,
            unit="short",
            interval="5m",
            repeat="queue",
        ),
        Panel(
            "table",
            "Answer groups — selected period",
            "answer_groups_selected_period",
            "Per answer group and channel over the selected period. Service level = answered within the answer "
            "group's threshold / offered, where offered excludes short abandons (thresholds from the table "
            "sla_queue_targets, written from the parameters file; see `servicepulse rules`). ASA = average speed of "
            "answer (mean wait of answered contacts).",
            w=24,
            h=8,
            columns=(
                Column("service_level_pct", display="service level", unit="percent", color_text=True, target=True),
                Column("asa_s", display="ASA", unit="s"),
                Column("short_abandons", display="short abandons"),
            ),
        ),
        Row("Service level (phone)"),
        Panel(
            "timeseries",
            "Service level per 15 minutes",
            "service_level_per_15_minutes",
            "Phone calls answered within 60 s (120 s for vasby-direkt) / calls offered, short abandons (≤ 5 s) "
            "excluded; per answer group and 15-minute interval of the offer (Stockholm time). Computed from the "
            "answered and abandoned rows, which carry wait_ms. Target 85 % (red line).",
            w=16,
            h=9,
            unit="percent",
            min=0,
            max=100,
            label="queue",
            legend=("mean", "min"),
            threshold_line=True,
            steps=(("red", None), ("green", 85)),
        ),
        Panel(
            "bargauge",
            "Service level — selected period",
            "service_level_selected_period",
            "Phone service level per answer group over the whole selected period (same definition as the graph). "
            "Target 85 %.",
            w=8,
            h=9,
            unit="percent",
            min=0,
            max=100,
            steps=(("red", None), ("orange", 80), ("green", 85)),
        ),
        Panel(
            "timeseries",
            "Average speed of answer (ASA)",
            "average_speed_of_answer",
            "Mean wait of answered phone calls and chats per answer group and interval, in seconds.",
            w=12,
            h=8,
            unit="s",
            label="queue",
            legend=("mean", "max"),
            interval="15m",
        ),
        Panel(
            "timeseries",
            "Resolved at first contact",
            "resolved_at_first_contact",
            "Share of ended contacts resolved at first contact, per answer group and Stockholm day (ended rows with "
            "resolved_first_contact set). Targets: contact centre 80 % (line), payroll service 95 %, manager support "
            "and pension group 100 %, Väsby Direkt ≥ 72 %.",
            w=12,
            h=8,
            unit="percent",
            min=0,
            max=100,
            label="queue",
            legend=("mean", "min"),
            threshold_line=True,
            steps=(("red", None), ("green", 80)),
        ),
        Row("E-mail (function mailboxes)"),
        Panel(
            "timeseries",
            "E-mails received vs answered",
            "e_mails_received_vs_answered",
            "E-mails received and answered per Stockholm day in the selected answer groups. Target: every e-mail "
            "handled within one working day.",
            w=16,
            h=8,
            unit="short",
            bars=True,
        ),
        Panel(
            "table",
            "E-mails per answer group",
            "e_mails_per_answer_group",
            "E-mails received and answered per answer group over the selected period, and the mean time to answer "
            "(from the answered rows' wait_ms) in hours.",
            w=8,
            h=8,
        ),
    ),
)
