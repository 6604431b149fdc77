"""Contact metrics per answer group and window: service level, ASA, abandonment and first-contact resolution.

A contact belongs to the window in which it was *offered* (entered the queue); its outcome (answered or
abandoned, with its wait) and its end (first-contact resolution) arrive later and count in that window.
Only phone and chat contacts have a service level; e-mail is measured by its working-time deadline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from servicepulse.domain.parameters import QueueTarget, default_parameters
from servicepulse.schemas.events import CallEvent, CallEventType, Channel

__all__ = [
    "DEFAULT_TARGETS",
    "QueueTarget",
    "WindowMetrics",
    "compute_windows",
    "hopping_windows",
    "queue_target",
    "tumbling_window",
]

TUMBLING = timedelta(minutes=15)
HOP_SIZE = timedelta(hours=1)
HOP_STEP = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LIVE = (Channel.phone, Channel.chat)


# Service targets per answer group from the parameters file (the same values `migrate` writes into the table
# `sla_queue_targets` that the views read); a queue not listed gets the file's default.
DEFAULT_TARGETS: Mapping[str, QueueTarget] = default_parameters().sla_queues


def queue_target(queue: str, targets: Mapping[str, QueueTarget] = DEFAULT_TARGETS) -> QueueTarget:
    return targets.get(queue, default_parameters().sla_default)


def _floor(moment: datetime, size: timedelta) -> datetime:
    # Stockholm's offset is a whole number of hours, so UTC quarter-hours are Stockholm quarter-hours.
    return _EPOCH + ((moment - _EPOCH) // size) * size


def tumbling_window(moment: datetime, size: timedelta = TUMBLING) -> tuple[datetime, datetime]:
    start = _floor(moment, size)
    return start, start + size


def hopping_windows(
    moment: datetime, size: timedelta = HOP_SIZE, step: timedelta = HOP_STEP
) -> list[tuple[datetime, datetime]]:
    """Every [start, start + size) with start on the step grid that contains `moment`, oldest first."""
    last = _floor(moment, step)
    count = size // step
    return [(last - k * step, last - k * step + size) for k in range(count - 1, -1, -1)]


@dataclass
class WindowMetrics:
    """Counts of one answer group in one window, and the ratios derived from them."""

    queue: str
    org: str
    window_start: datetime
    window_end: datetime
    answered: int = 0
    answered_within_threshold: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    wait_ms_answered: int = 0
    fcr_resolved: int = 0
    fcr_ended: int = 0

    @property
    def offered(self) -> int:
        """Contacts that reached an outcome, short abandons excluded."""
        return self.answered + self.abandoned - self.short_abandoned

    @property
    def service_level(self) -> float | None:
        return self.answered_within_threshold / self.offered if self.offered else None

    @property
    def asa_s(self) -> float | None:
        return self.wait_ms_answered / self.answered / 1000 if self.answered else None

    @property
    def abandonment_rate(self) -> float | None:
        return (self.abandoned - self.short_abandoned) / self.offered if self.offered else None

    @property
    def fcr(self) -> float | None:
        return self.fcr_resolved / self.fcr_ended if self.fcr_ended else None


def _windows(moment: datetime, hopping: bool, size: timedelta) -> list[tuple[datetime, datetime]]:
    return hopping_windows(moment) if hopping else [tumbling_window(moment, size)]


def compute_windows(
    events: Iterable[CallEvent],
    targets: Mapping[str, QueueTarget] = DEFAULT_TARGETS,
    hopping: bool = False,
    size: timedelta = TUMBLING,
) -> dict[tuple[str, datetime], WindowMetrics]:
    """Exact metrics per (queue, window start) from the steps of live contacts; each event counted once by id."""
    out: dict[tuple[str, datetime], WindowMetrics] = {}
    seen: set[str] = set()
    for event in events:
        if event.channel not in _LIVE or event.event_id in seen:
            continue
        if event.event_type not in (CallEventType.answered, CallEventType.abandoned, CallEventType.ended):
            continue
        seen.add(event.event_id)
        target = queue_target(event.queue, targets)
        offered_at = event.offered_at or event.occurred_at
        for start, end in _windows(offered_at, hopping, size):
            m = out.get((event.queue, start))
            if m is None:
                m = out[(event.queue, start)] = WindowMetrics(event.queue, event.org, start, end)
            wait = event.wait_ms or 0
            if event.event_type is CallEventType.answered:
                m.answered += 1
                m.wait_ms_answered += wait
                if wait <= target.threshold_s * 1000:
                    m.answered_within_threshold += 1
            elif event.event_type is CallEventType.abandoned:
                m.abandoned += 1
                if wait <= target.short_abandon_s * 1000:
                    m.short_abandoned += 1
            elif event.resolved_first_contact is not None:
                m.fcr_ended += 1
                m.fcr_resolved += int(event.resolved_first_contact)
    return out
