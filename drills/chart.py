"""The proof pack's chart: lifecycle counts, dead letters and firing alerts over virtual
time, with the fault windows shaded (matplotlib, Agg backend, deterministic PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

#: The lifecycle states drawn, summed over the directory and the bus.
DRAWN_STATES = ("queued", "dispatched", "delivered", "acked", "failed")


@dataclass(frozen=True)
class Sample:
    """The world's counts at one virtual time."""

    time: float
    states: dict[str, int]
    dead_letters: int
    alerts: int


def fault_windows(log: Sequence[tuple[float, str, str]], end: float) -> list[tuple[float, float, str]]:
    """Pair each fault start with its end (or ``end`` when it never ended)."""
    open_at: dict[str, float] = {}
    windows: list[tuple[float, float, str]] = []
    for time, kind, name in log:
        if kind == "fault_start":
            open_at[name] = time
        elif name in open_at:
            windows.append((open_at.pop(name), time, name))
    windows += [(start, end, name) for name, start in open_at.items()]
    return sorted(windows)


def render_chart(samples: Sequence[Sample], fault_log: Sequence[tuple[float, str, str]], path: Path,
                 title: str) -> None:
    """Write the chart of ``samples`` to ``path`` (PNG) with fault windows shaded."""
    figure, (counts, alerts) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True,
                                            gridspec_kw={"height_ratios": [3, 1]})
    minutes = [sample.time / 60 for sample in samples]
    for state in DRAWN_STATES:
        counts.step(minutes, [sample.states.get(state, 0) for sample in samples], where="post", label=state)
    counts.step(minutes, [sample.dead_letters for sample in samples], where="post", label="dead_letter",
                color="black", linewidth=2)
    alerts.step(minutes, [sample.alerts for sample in samples], where="post", color="crimson")
    end = samples[-1].time if samples else 0.0
    for start, stop, name in fault_windows(fault_log, end):
        for axis in (counts, alerts):
            axis.axvspan(start / 60, max(stop, start + 1) / 60, color="orange", alpha=0.2)
        counts.annotate(name, (start / 60, 1), xycoords=("data", "axes fraction"), va="top", fontsize=8,
                        rotation=90)
    counts.set_ylabel("intents")
    counts.set_title(title)
    counts.legend(loc="upper left", fontsize=8)
    alerts.set_ylabel("alerts firing")
    alerts.set_xlabel("virtual time (minutes)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
