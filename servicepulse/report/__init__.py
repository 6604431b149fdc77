"""The tertial (or monthly) report for managers and the service committee: figures, traffic lights, HTML/JSON."""

from __future__ import annotations

from .figures import Margins, build_report, traffic_light
from .model import Direction, Light, Report
from .period import Period

__all__ = ["Direction", "Light", "Margins", "Period", "Report", "build_report", "traffic_light"]
