"""The one definition of Stockholm time: business rules, importers and dashboards all reckon in it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

__all__ = ["STOCKHOLM"]

# Working days, office hours, days on dashboards and posting dates are Stockholm-local.
STOCKHOLM = ZoneInfo("Europe/Stockholm")
