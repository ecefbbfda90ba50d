"""The proof pack's chart (matplotlib, Agg backend, deterministic PNG): the count panels
with something to show (:mod:`~drills.proofpack.panels`), a band per alert id while it
fires (:mod:`~drills.proofpack.alertspans`), fault windows shaded and instant faults as
dashed lines, named in a legend below (:mod:`~drills.proofpack.faultlog`).

The layout is fixed in inches (no tight or constrained layout: they cost a draw each), so
the figure grows with the panels and the legend rows it holds. It is built without pyplot
(no global figure state; saving a PNG picks the Agg canvas)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from drills.proofpack.alertspans import AlertSpan, alert_ids, alert_spans
from drills.proofpack.faultlog import FaultEntry, FaultMarker, FaultTimeline, FaultWindow, fault_timeline
from drills.proofpack.panels import CountPanel, count_panels
from drills.proofpack.samples import Sample

STATE_COLORS = {"queued": "tab:purple", "in_flight": "tab:blue", "delivered": "tab:olive", "acked": "tab:green",
                "failed": "tab:red", "dead_letter": "black", "hold": "tab:orange", "reject": "tab:red"}
CODE_COLORS = ("tab:red", "tab:orange", "tab:brown", "tab:pink", "tab:purple", "tab:cyan", "tab:olive", "tab:gray")
SEVERITY_COLORS = {"warning": "#e8a33d", "critical": "crimson"}
FAULT_COLORS = ("tab:gray", "tab:cyan", "tab:pink", "tab:olive", "tab:brown", "tab:purple")
FAULT_ALPHA = 0.18

#: The fixed layout, in inches.
WIDTH, LEFT, RIGHT, TOP, GAP, X_AXIS, LEGEND_ROW = 10.3, 0.85, 2.35, 0.45, 0.15, 0.5, 0.2
PANEL_HEIGHT = {"directory": 1.9, "bus": 1.9, "errors": 1.4, "shield": 1.1}
ALERT_ROW, ALERT_PAD, NOTE = 0.28, 0.45, 0.15
LEGEND_COLUMNS = 3


#: What the note under the title calls each panel it leaves out.
QUIET_NAMES = {"directory": "directory intents", "bus": "bus intents", "errors": "directory errors",
               "shield": "Shield holds and rejects", "alerts": "alerts"}


@dataclass(frozen=True)
class ChartContent:
    """Everything the chart draws, computed from the samples and the fault log: the count
    panels with something to show, the alert spans, the faults, and the panels left out
    because nothing happened in them (``quiet``, by key)."""

    panels: tuple[CountPanel, ...]
    alerts: tuple[AlertSpan, ...]
    faults: FaultTimeline
    quiet: tuple[str, ...]

    @classmethod
    def of(cls, samples: Sequence[Sample], fault_log: Sequence[FaultEntry]) -> ChartContent:
        """What the chart of ``samples`` and ``fault_log`` shows."""
        end = samples[-1].time if samples else 0.0
        panels = count_panels(samples)
        alerts = tuple(alert_spans(samples))
        quiet = [panel.key for panel in panels if panel.empty] + ([] if alerts else ["alerts"])
        return cls(tuple(panel for panel in panels if not panel.empty), alerts, fault_timeline(fault_log, end),
                   tuple(quiet))

    @property
    def note(self) -> str | None:
        """The line under the title naming the panels left out, if any."""
        if not self.quiet:
            return None
        return "left out, zero through the run: " + ", ".join(QUIET_NAMES[key] for key in self.quiet)

    def title(self, title: str) -> str:
        """``title`` with what the shading and dashed lines mean, when there are any."""
        notes = (["shaded: fault windows"] if self.faults.windows else []) + \
            (["dashed: instant faults"] if self.faults.markers else [])
        return "; ".join([title, *notes])


def _fault_handles(faults: FaultTimeline) -> list[tuple[FaultWindow | FaultMarker, str]]:
    """Each fault with its colour, in order of time."""
    return [(fault, FAULT_COLORS[index % len(FAULT_COLORS)]) for index, fault in enumerate(faults.in_order())]


def _draw_counts(axis: Axes, panel: CountPanel, minutes: list[float]) -> None:
    for index, line in enumerate(panel.series):
        color = STATE_COLORS.get(line.label) if panel.key != "errors" else CODE_COLORS[index % len(CODE_COLORS)]
        axis.step(minutes, line.values, where="post", label=f"{line.label} ({line.values[-1]})", color=color,
                  linewidth=2.5 if line.label == "dead_letter" else 1.5)
    axis.set_ylabel(panel.ylabel)
    axis.yaxis.set_major_locator(MaxNLocator(nbins=round(PANEL_HEIGHT[panel.key] * 3), integer=True))
    axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, title=panel.legend, title_fontsize=8)


def _draw_alerts(axis: Axes, spans: Sequence[AlertSpan]) -> None:
    ids = alert_ids(spans)
    row = {alert_id: index for index, alert_id in enumerate(ids)}
    axis.barh([row[span.alert_id] for span in spans], [(span.end - span.start) / 60 for span in spans],
              left=[span.start / 60 for span in spans], height=0.6,
              color=[SEVERITY_COLORS.get(span.severity, "tab:gray") for span in spans])
    axis.set_yticks(range(len(ids)), ids, fontsize=8)
    axis.yaxis.tick_right()
    axis.set_ylim(len(ids) - 0.5, -0.5)
    axis.set_ylabel("alerts")


def _draw_faults(axes: Sequence[Axes], handles: list[tuple[FaultWindow | FaultMarker, str]]) -> None:
    for fault, color in handles:
        for axis in axes:
            if isinstance(fault, FaultWindow):
                axis.axvspan(fault.start / 60, fault.end / 60, color=color, alpha=FAULT_ALPHA, linewidth=0, zorder=0.5)
            else:
                axis.axvline(fault.time / 60, color=color, linestyle=(0, (4, 2)), linewidth=1.4, zorder=1.5)


def _legend(content: ChartContent,
            handles: list[tuple[FaultWindow | FaultMarker, str]]) -> tuple[list[Artist], list[str]]:
    """The figure legend's entries: the alert severities drawn, then the faults."""
    artists: list[Artist] = []
    labels: list[str] = []
    for severity, color in SEVERITY_COLORS.items():
        if any(span.severity == severity for span in content.alerts):
            artists.append(Patch(color=color))
            labels.append(f"alert {severity}")
    for fault, color in handles:
        artists.append(Patch(color=color, alpha=FAULT_ALPHA * 2) if isinstance(fault, FaultWindow)
                       else Line2D([], [], color=color, linestyle=(0, (4, 2)), linewidth=1.4))
        labels.append(fault.label)
    return artists, labels


def _stack(figure: Figure, heights: Sequence[float], top: float) -> list[Axes]:
    """One axes per height (inches), top to bottom from ``top`` inches, sharing x."""
    width, height = figure.get_size_inches()
    axes: list[Axes] = []
    for panel_height in heights:
        top -= panel_height
        box = (LEFT / width, top / height, (width - LEFT - RIGHT) / width, panel_height / height)
        axes.append(figure.add_axes(box, sharex=axes[0] if axes else None))
        top -= GAP
    return axes


def chart_figure(content: ChartContent, samples: Sequence[Sample], title: str) -> Figure:
    """The figure of ``content`` over the times of ``samples``: one axes per panel drawn, top
    to bottom (a single empty one when nothing is)."""
    heights = [PANEL_HEIGHT[panel.key] for panel in content.panels]
    if content.alerts:
        heights.append(ALERT_PAD + ALERT_ROW * len(alert_ids(content.alerts)))
    handles = _fault_handles(content.faults)
    artists, labels = _legend(content, handles)
    rows = math.ceil(len(labels) / LEGEND_COLUMNS)
    bottom = X_AXIS + (rows * LEGEND_ROW + 0.15 if rows else 0.0)
    header = TOP + (NOTE if content.note else 0.0)
    height = header + sum(heights or [1.0]) + GAP * (len(heights or [1.0]) - 1) + bottom
    figure = Figure(figsize=(WIDTH, height), dpi=90)
    axes = _stack(figure, heights or [1.0], height - header)
    minutes = [sample.time / 60 for sample in samples]
    for axis, panel in zip(axes, content.panels):
        _draw_counts(axis, panel, minutes)
    if content.alerts:
        _draw_alerts(axes[len(content.panels)], content.alerts)
    if not heights:
        axes[0].text(0.5, 0.5, "nothing happened" if samples else "nothing was sampled: the drill stopped before "
                     "its method", ha="center", va="center", transform=axes[0].transAxes)
        axes[0].set_yticks([])
    _draw_faults(axes, handles)
    for axis in axes[:-1]:
        axis.tick_params(labelbottom=False)
    axes[-1].set_xlabel("virtual time (minutes)")
    if minutes and minutes[-1] > minutes[0]:
        axes[0].set_xlim(minutes[0], minutes[-1])
    figure.suptitle(content.title(title), y=1 - 0.15 / height, va="top", fontsize=11)
    if content.note:
        figure.text(0.5, 1 - (TOP + 0.02) / height, content.note, ha="center", va="top", fontsize=8, color="dimgray")
    if artists:
        figure.legend(artists, labels, loc="upper left", bbox_to_anchor=(LEFT / WIDTH, (bottom - X_AXIS) / height),
                      ncol=LEGEND_COLUMNS, fontsize=8, frameon=False, borderaxespad=0)
    return figure


def render_chart(samples: Sequence[Sample], fault_log: Sequence[FaultEntry], path: Path, title: str) -> None:
    """Write the chart of ``samples`` and ``fault_log`` to ``path`` (PNG)."""
    figure = chart_figure(ChartContent.of(samples, fault_log), samples, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", metadata={"Software": None})
