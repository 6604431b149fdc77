"""Operational alerts as pure functions: input rejected into dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from servicepulse.schemas.events import Alert, AlertState, DeadLetter, Severity

from ..rules import STOCKHOLM, evidence, stable_id

__all__ = ["DeadLetterAlertRule", "dead_letter_alert"]


@dataclass(frozen=True)
class DeadLetterAlertRule:
    """`ops.dead_letters`: a source sends input the pipeline rejects; raised once per source and hour."""

    rule_id: str = "ops.dead_letters"
    version: int = 1
    severity: Severity = Severity.medium


def dead_letter_alert(
    letter: DeadLetter, already_raised: set[str], rule: DeadLetterAlertRule
) -> tuple[set[str], Alert | None]:
    hour = letter.failed_at.astimezone(STOCKHOLM).replace(minute=0, second=0, microsecond=0)
    key = f"{rule.rule_id}:{letter.source_topic}:{hour.isoformat()}"
    if key in already_raised:
        return already_raised, None
    alert = Alert(
        alert_id=stable_id(key, AlertState.raised.value),
        alert_key=key,
        state=AlertState.raised,
        severity=rule.severity,
        rule_id=rule.rule_id,
        rule_version=rule.version,
        title=f"Rejected input from {letter.source_topic}: {letter.kind.value}",
        measured_value=1.0,
        target=0.0,
        unit="count",
        window_start=hour,
        window_end=hour + timedelta(hours=1),
        occurred_at=letter.failed_at.astimezone(UTC),
        details_json=evidence(
            {"first_reason": letter.reason, "stage": letter.stage, "source_partition": letter.source_partition,
             "source_offset": letter.source_offset}
        ),
    )
    return already_raised | {key}, alert
