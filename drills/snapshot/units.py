"""Numbers in a panel's unit, the way Grafana writes them: ``short`` with k/M suffixes,
seconds as ms/s/min/h, rates per second, ratios as percentages."""

from __future__ import annotations

import math
from typing import Final

#: What the y axis says for each unit the dashboards use.
AXIS_LABELS: Final[dict[str, str]] = {"s": "seconds", "reqps": "per second", "percentunit": "percent"}


def _short(value: float) -> str:
    for limit, suffix in ((1e9, " B"), (1e6, " M"), (1e3, " k")):
        if abs(value) >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if value != int(value) else f"{int(value)}"


def format_value(value: float, unit: str) -> str:
    """``value`` in ``unit`` (``NaN`` as Grafana's "No data" dash)."""
    if not math.isfinite(value):
        return "–"
    if unit == "s":
        if value == 0:
            return "0 s"
        if abs(value) < 1:
            return f"{value * 1000:.3g} ms"
        if abs(value) < 120:
            return f"{value:.3g} s"
        return f"{value / 60:.3g} min" if abs(value) < 7200 else f"{value / 3600:.3g} h"
    if unit == "reqps":
        return f"{_short(value)}/s"
    if unit == "percentunit":
        return f"{value * 100:.3g}%"
    return _short(value)
