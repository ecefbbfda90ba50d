"""The metastability study's chart: the maps of its report drawn as a grid of panels, one
per clients mode and base load, each a trigger × duration map of recovered (green, with
the seconds to recover) or collapsed (red). Deterministic PNG, as the sweep's charts."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from drills.sweep.grid import Plan
from drills.sweep.stats import Records
from drills.sweep.studies import metastability_outcomes

#: Colours of a cell whose runs all recovered, none did, some did, or none was judged.
COLOURS = {"all": "#4caf50", "none": "#e53935", "some": "#ffb300", "unjudged": "#e0e0e0"}


def render_boundary(plan: Plan, records: Records, folder: Path) -> list[str]:
    """Write ``folder/boundary.png`` for a metastability study; return the names written."""
    if plan.sweep.study != "metastability":
        return []
    outcomes = metastability_outcomes(plan, records)
    if outcomes is None:
        return []
    modes, loads = len(outcomes.clients.values), outcomes.loads
    triggers, durations = outcomes.trigger, outcomes.duration
    figure = Figure(figsize=(3.2 * len(loads) + 1.5, 1.0 + 0.45 * len(triggers.values) * modes), dpi=100)
    grid = figure.subplots(modes, len(loads), squeeze=False)
    for mode in range(modes):
        for column, level in enumerate(loads):
            axes = grid[mode][column]
            for row in range(len(triggers.values)):
                for length in range(len(durations.values)):
                    returned, judged, seconds = outcomes.at(mode, row, length, level)
                    state = ("unjudged" if judged == 0 else "all" if returned == judged
                             else "none" if returned == 0 else "some")
                    axes.add_patch(_cell(length, row, COLOURS[state]))
                    text = "" if state in ("none", "unjudged") or seconds is None else f"{seconds:.0f}s"
                    axes.text(length + 0.5, row + 0.5, text if state == "all" else
                              ("✗" if state == "none" else f"{returned}/{judged}" if state == "some" else ""),
                              ha="center", va="center", fontsize=7)
            axes.set_xlim(0, len(durations.values))
            axes.set_ylim(len(triggers.values), 0)
            axes.set_xticks([i + 0.5 for i in range(len(durations.values))],
                            [durations.text(v) for v in durations.values], fontsize=7)
            axes.set_yticks([i + 0.5 for i in range(len(triggers.values))],
                            [triggers.text(v) if column == 0 else "" for v in triggers.values], fontsize=7)
            title = outcomes.clients.text(outcomes.clients.values[mode])
            if outcomes.load is not None and level is not None:
                title += f", load {outcomes.load.text(outcomes.load.values[level])}"
            axes.set_title(title, fontsize=8)
    figure.suptitle(f"{plan.sweep.name}: recovered (green, seconds to recover) or collapsed (red), "
                    f"trigger × {durations.label}", fontsize=9)
    figure.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / ".boundary.png.tmp"
    figure.savefig(temporary, format="png", metadata={"Software": None})
    os.replace(temporary, folder / "boundary.png")
    return ["boundary.png"]


def _cell(x: int, y: int, colour: str) -> Rectangle:
    return Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white", linewidth=1.5)
