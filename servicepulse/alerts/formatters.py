"""Chat payloads of a digest, one formatter per channel kind (Slack, Microsoft Teams, Mattermost, generic JSON).

The words come from the templates (`templates/digest.j2`) and the catalogue (`messages.py`), Swedish by default;
amounts are written the Swedish way (`format_sek`), times in Stockholm. Only what the alerts' titles and chosen
detail fields say reaches chat (never `details_json` as a whole), and every string of the payload is redacted
(personnummer, protected names) before it leaves, as the logs are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import jinja2
import orjson

from servicepulse.domain.money import NBSP, format_sek
from servicepulse.domain.zone import STOCKHOLM
from servicepulse.logging import redact_value
from servicepulse.schemas.events import Alert, AlertState

from .digest import Digest, Section
from .messages import MESSAGES, message

__all__ = ["KINDS", "Entry", "digest_payload", "digest_text", "entries"]

KINDS = ("slack", "teams", "mattermost", "generic")
_MONTHS = {"sv": ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"],
           "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]}
# Bold in each kind's markup; generic JSON's `text` is plain.
_BOLD: dict[str, Callable[[str], str]] = {
    "slack": lambda s: f"*{s}*", "mattermost": lambda s: f"**{s}**", "teams": lambda s: f"**{s}**",
    "generic": lambda s: s,
}


@dataclass(frozen=True)
class Entry:
    """One item of a digest: a breach (its alert key) raised, resolved, or both within the digest."""

    key: str
    raised: Alert | None
    resolved: Alert | None

    @property
    def alert(self) -> Alert:
        """The alert whose fields describe the item: the raise when the digest has it."""
        found = self.raised or self.resolved
        assert found is not None
        return found

    @property
    def state(self) -> str:
        return "both" if self.raised and self.resolved else "raised" if self.raised else "resolved"


def entries(section: Section) -> list[Entry]:
    """The digest's items by alert key, in the order first stored: a raise and its resolve in the same digest are
    one item, shown as resolved."""
    order: list[str] = []
    raised: dict[str, Alert] = {}
    resolved: dict[str, Alert] = {}
    for a in section.alerts:
        if a.alert_key not in raised and a.alert_key not in resolved:
            order.append(a.alert_key)
        (resolved if a.state is AlertState.resolved else raised)[a.alert_key] = a
    return [Entry(k, raised.get(k), resolved.get(k)) for k in order]


def _number(value: float, lang: str) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return text.replace(".", ",") if lang == "sv" else text


def _percent(value: float, lang: str) -> str:
    return f"{_number(round(value * 100, 1), lang)}{NBSP if lang == 'sv' else ''}%"


def _measure(value: float | None, unit: str | None, lang: str) -> str:
    if value is None:
        return "–"
    if unit == "ratio":
        return _percent(value, lang)
    label = MESSAGES.get(f"unit.{unit}", {}).get(lang, unit or "") if unit else ""
    return f"{_number(value, lang)} {label}".strip()


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def _stamp(iso: object) -> str:
    """A rule's ISO time from an alert's details, as Stockholm minutes ('' when absent or unreadable)."""
    try:
        return _when(datetime.fromisoformat(str(iso))) if iso else ""
    except ValueError:
        return ""


def _window(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    s, e = start.astimezone(STOCKHOLM), end.astimezone(STOCKHOLM)
    return f"{s:%Y-%m-%d %H:%M}–{e:%H:%M}" if s.date() == e.date() else f"{s:%Y-%m-%d %H:%M}–{e:%Y-%m-%d %H:%M}"


def _day(day: date, lang: str) -> str:
    return f"{day.day} {_MONTHS[lang][day.month - 1]} {day.year}"


def _details(alert: Alert) -> dict[str, Any]:
    try:
        doc = orjson.loads(alert.details_json or "{}")
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("servicepulse.alerts", "templates"),
        autoescape=False,  # chat text and JSON strings, never HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def _render(template: str, digest: Digest, section: Section, kind: str, lang: str) -> str:
    items = entries(section)
    return _environment().get_template(template).render(
        section=section, items=items, lang=lang, kind=kind,
        new=sum(1 for e in items if e.state == "raised"), done=sum(1 for e in items if e.state != "raised"),
        t=lambda key, **values: message(key, lang, **values),
        b=_BOLD[kind], details=_details, sek=format_sek, when=_when, window=_window, stamp=_stamp,
        measure=lambda value, unit: _measure(value, unit, lang), day=_day(digest.day, lang),
        reasons=lambda names: ", ".join(MESSAGES.get(f"reason.{n}", {}).get(lang, str(n)) for n in names),
    ).strip()


def digest_text(digest: Digest, kind: str, lang: str) -> list[tuple[str, str]]:
    """The heading and the body of each section of the digest, in `kind`'s markup."""
    return [(_render("heading.j2", digest, s, kind, lang), _render("section.j2", digest, s, kind, lang))
            for s in digest.sections]


def digest_payload(digest: Digest, kind: str, lang: str) -> dict[str, Any]:
    """What the channel receives, redacted."""
    if kind not in KINDS:
        raise ValueError(f"unknown channel kind {kind!r}; one of {KINDS}")
    parts = digest_text(digest, kind, lang)
    payload: dict[str, Any]
    if kind == "slack":
        payload = {"text": "\n\n".join(f"{h}\n{b}" for h, b in parts), "unfurl_links": False, "unfurl_media": False}
    elif kind == "mattermost":
        payload = {"text": "\n\n".join(f"#### {h}\n{b}" for h, b in parts), "username": "servicepulse"}
    elif kind == "teams":
        # A Workflows ("When a Teams webhook request is received") message with one Adaptive Card.
        body: list[dict[str, Any]] = []
        for heading, text in parts:
            body += [{"type": "TextBlock", "text": heading, "weight": "Bolder", "size": "Medium", "wrap": True},
                     {"type": "TextBlock", "text": text, "wrap": True}]
        payload = {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
            "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                        "version": "1.4", "msteams": {"width": "Full"}, "body": body},
        }]}
    else:
        payload = {
            "digest_id": digest.digest_id, "channel": digest.channel, "day": digest.day.isoformat(),
            "language": lang, "text": "\n\n".join(f"{h}\n{b}" for h, b in parts),
            "sections": [{"rule_id": s.rule_id, "scope": s.scope, "heading": h, "text": b,
                          "items": [_item(a) for a in s.alerts]}
                         for s, (h, b) in zip(digest.sections, parts, strict=True)],
        }
    redacted: dict[str, Any] = redact_value(payload)
    return redacted


def _item(alert: Alert) -> dict[str, Any]:
    """An alert for generic JSON: its fields, without the evidence (that stays in ClickHouse)."""
    return {
        "alert_id": alert.alert_id, "alert_key": alert.alert_key, "state": alert.state.value,
        "severity": alert.severity.value, "rule_id": alert.rule_id, "rule_version": alert.rule_version,
        "title": alert.title, "measured_value": alert.measured_value, "target": alert.target, "unit": alert.unit,
        "window_start": alert.window_start.isoformat() if alert.window_start else None,
        "window_end": alert.window_end.isoformat() if alert.window_end else None,
        "occurred_at": alert.occurred_at.isoformat(),
    }
