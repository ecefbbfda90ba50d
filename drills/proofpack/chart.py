"""The proof pack's chart: lifecycle counts, dead letters and firing alerts over virtual
time, with the fault windows shaded (matplotlib, Agg backend, deterministic PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

#: The states drawn per path: in flight is every state that is not terminal.
DRAWN: dict[str, tuple[str, ...]] = {
    "directory": ("in_flight", "acked", "failed"),
    "bus": ("queued", "in_flight", "delivered", "acked", "dead_letter"),
}
TERMINAL = ("acked", "failed", "dead_letter")


@dataclass(frozen=True)
class Sample:
    """The world's lifecycle counts per path, and the alerts firing, at one virtual time."""

    time: float
    directory: dict[str, int]
    bus: dict[str, int]
    alerts: int

    def drawn(self, path: str, state: str) -> int:
        """The count drawn for ``state`` on ``path``; ``in_flight`` sums the states not
        drawn on their own (the bus's queued and delivered are drawn apart)."""
        counts = self.directory if path == "directory" else self.bus
        if state != "in_flight":
            return counts.get(state, 0)
        return sum(n for name, n in counts.items() if name not in TERMINAL and name not in DRAWN[path])


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
    figure, axes = plt.subplots(3, 1, figsize=(10, 7), sharex=True, gridspec_kw={"height_ratios": [2, 2, 1]})
    minutes = [sample.time / 60 for sample in samples]
    for axis, lifecycle in zip(axes, DRAWN):
        for state in DRAWN[lifecycle]:
            axis.step(minutes, [sample.drawn(lifecycle, state) for sample in samples], where="post", label=state,
                      linewidth=2.5 if state == "dead_letter" else 1.5)
        axis.set_ylabel(f"{lifecycle} intents")
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    alerts = axes[2]
    alerts.step(minutes, [sample.alerts for sample in samples], where="post", color="crimson")
    alerts.set_ylabel("alerts firing")
    alerts.set_xlabel("virtual time (minutes)")
    end = samples[-1].time if samples else 0.0
    for start, stop, name in fault_windows(fault_log, end):
        for axis in axes:
            axis.axvspan(start / 60, max(stop, start + 1) / 60, color="orange", alpha=0.2)
        alerts.annotate(name, (start / 60, 0.95), xycoords=("data", "axes fraction"), va="top", fontsize=7)
    axes[0].set_title(f"{title}; shaded: faults")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
