"""The sweep's charts: each measure against the x axis, one line per combination of the
other axes (one per policy), with its 95 % confidence band (a share's: Wilson's) (matplotlib, Agg, deterministic PNG)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final


from drills.sweep.grid import Plan
from drills.sweep.stats import CellSummary

#: What each measure is counted in, for the y axis.
UNITS: Final[dict[str, str]] = {
    "goodput": "delivered intents per virtual second", "latency_p50": "seconds", "latency_p95": "seconds",
    "latency_p99": "seconds", "dead_letters": "bus messages", "attempts_per_intent": "attempts per intent",
    "peak_queue_depth": "bus messages queued", "time_to_recover": "seconds after the last fault ended",
    "recovered": "share of runs that recovered", "completion_time": "virtual seconds (last delivery)",
    "lost": "intents", "duplicated": "intents",
    "unexpected": "intents", "recovered_deliveries": "intents",
    "caught_at_first_step": "share of runs caught at the first canary step", "failed": "share of runs Failed",
    "inconclusive": "share of runs Inconclusive", "promoted": "share of runs promoted",
    "rolled_back_within_limit": "share of runs rolled back within the limit",
    "rollback_seconds": "seconds from the first harmful interval", "blast_radius_intents": "intents",
}


def level_text(value: Any) -> str:
    """A grid value as tables and legends show it."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _numeric(values: list[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def render_charts(plan: Plan, summaries: list[CellSummary], folder: Path) -> list[str]:
    """Write ``folder/MEASURE.png`` for every measure that has a value; return their names."""
    from matplotlib.figure import Figure  # Matplotlib is slow to import, so here

    x_axis = plan.x
    x_index = plan.axes.index(x_axis)
    others = [axis for axis in plan.axes if axis is not x_axis]
    numeric = _numeric(x_axis.values)
    written: list[str] = []
    for measure in plan.sweep.measures:
        if not any(summary.measures[measure].mean is not None for summary in summaries):
            continue
        figure = Figure(figsize=(7.5, 4.5), dpi=100)
        axes = figure.add_subplot()
        series: dict[tuple[int, ...], list[tuple[float, CellSummary]]] = {}
        for cell, summary in zip(plan.cells, summaries):
            key = cell.positions[:x_index] + cell.positions[x_index + 1:]
            x = float(cell.levels[x_index]) if numeric else float(cell.positions[x_index])
            series.setdefault(key, []).append((x, summary))
        for key, points in series.items():
            label = ", ".join(f"{axis.label}={axis.text(axis.values[p])}" for axis, p in zip(others, key)) or measure
            estimates = [(x, s.measures[measure]) for x, s in sorted(points, key=lambda point: point[0])]
            means = [(x, e.mean) for x, e in estimates if e.mean is not None]
            if not means:
                continue
            line, = axes.plot([x for x, _ in means], [mean for _, mean in means], marker="o", label=label)
            bands = [(x, e.low, e.high) for x, e in estimates if e.low is not None and e.high is not None]
            if bands:
                axes.fill_between([x for x, _, _ in bands], [low for _, low, _ in bands], [high for _, _, high in bands],
                                  color=line.get_color(), alpha=0.2, linewidth=0)
        if not numeric:
            axes.set_xticks(range(len(x_axis.values)), [x_axis.text(v) for v in x_axis.values])
        axes.set_xlabel(x_axis.label)
        axes.set_ylabel(UNITS.get(measure, measure))
        axes.set_title(f"{plan.sweep.name}: {measure} (mean, 95% CI band, {len(plan.seeds)} replications)",
                       fontsize=10)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8, loc="best")
        figure.tight_layout()
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{measure}.png.tmp"
        figure.savefig(temporary, format="png", metadata={"Software": None})
        os.replace(temporary, folder / f"{measure}.png")
        written.append(f"{measure}.png")
    return written
