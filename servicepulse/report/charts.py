"""Chart geometry for the SVG templates: coordinates only, computed here so they are tested; the markup is
built by `templates/charts.html`, never as strings in Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .model import Light, TrendPoint

__all__ = ["Bar", "BarChart", "bar_chart"]


@dataclass(frozen=True)
class Bar:
    month: str
    x: float
    y: float
    width: float
    height: float
    light: Light  # colour of the bar: its own month against the target
    empty: bool  # no data that month: drawn as a grey tick, never as a zero bar


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    bars: tuple[Bar, ...]
    target_y: float | None  # where the target line goes; None without a target
    baseline_y: float


def bar_chart(points: Sequence[TrendPoint], target: float | None,
              width: float = 120.0, height: float = 30.0, gap: float = 3.0) -> BarChart:
    """Bars of the monthly values (scaled to the larger of the highest value and the target) with a target
    line; negative values (a fall against last year) hang below a zero line."""
    values = [p.value for p in points if p.value is not None]
    top = max([*values, target or 0.0, 0.0])
    bottom = min([*values, target or 0.0, 0.0])
    span = (top - bottom) or 1.0
    pad = 2.0
    usable = height - 2 * pad

    def y_of(value: float) -> float:
        return pad + (top - value) / span * usable

    zero = y_of(0.0)
    slot = width / max(len(points), 1)
    bars = []
    for i, point in enumerate(points):
        x = i * slot + gap / 2
        if point.value is None:
            bars.append(Bar(point.month, x, zero - 1.0, slot - gap, 1.0, Light.none, True))
            continue
        y = y_of(point.value)
        top_y, bar_h = (y, zero - y) if point.value >= 0 else (zero, y - zero)
        bars.append(Bar(point.month, x, top_y, slot - gap, max(bar_h, 1.0), point.light, False))
    return BarChart(width, height, tuple(bars), None if target is None else y_of(target), zero)
