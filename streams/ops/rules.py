"""Operational rules as pure functions: input rejected into dead letters."""

from __future__ import annotations

from datetime import UTC, timedelta

from servicepulse.domain.rules import Rule, build_alert, declare
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.schemas.events import Alert, AlertState, DeadLetter, Severity

__all__ = ["DEAD_LETTERS", "RULES", "dead_letter_alert"]

DEAD_LETTERS = declare(
    "ops.dead_letters", Severity.medium,
    "A source sends input the pipeline rejects (dead letters); raised once per source topic and hour.")
RULES: tuple[Rule, ...] = (DEAD_LETTERS,)
"""The operational rules, with their defaults from the parameters file."""


def dead_letter_alert(
    letter: DeadLetter, already_raised: set[str], rule: Rule = DEAD_LETTERS
) -> tuple[set[str], Alert | None]:
    """The alert of the letter's source and Stockholm hour, unless that key is raised already.

    Every field comes from the letter's hour and the letter itself, never the wall clock (the alerts table keys
    on `occurred_at`): given the first letter of the hour (the read-back step picks it by failure time, then
    source position), every runner builds the same alert."""
    hour = letter.failed_at.astimezone(STOCKHOLM).replace(minute=0, second=0, microsecond=0)
    key = f"{rule.rule_id}:{letter.source_topic}:{hour.isoformat()}"
    if key in already_raised:
        return already_raised, None
    alert = build_alert(
        rule, key, AlertState.raised,
        title=f"Rejected input from {letter.source_topic}: {letter.kind.value}",
        measured_value=1.0,
        target=0.0,
        unit="count",
        window_start=hour,
        window_end=hour + timedelta(hours=1),
        occurred_at=hour.astimezone(UTC),
        details={"first_reason": letter.reason, "stage": letter.stage, "source_partition": letter.source_partition,
                 "source_offset": letter.source_offset},
    )
    return already_raised | {key}, alert
