"""One PNG per panel, drawn with matplotlib the way Grafana draws the panel kind: time
series (stacked or not), stat tiles, state timelines; time on the run's own clock (UTC);
the drill's fault windows shaded and its operator steps as dashed lines. And the strip of
drill events each page opens with, naming every fault and step."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Final, Sequence

import matplotlib.dates as mdates
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from drills.prometheus.run import RunMetrics
from drills.snapshot.query import Mark, PanelData, Series, query_step
from drills.snapshot.units import AXIS_LABELS, format_value

#: Grafana's classic palette, in its order.
PALETTE: Final[tuple[str, ...]] = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9",
                                   "#705DA0", "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C")
#: A full-width (24-column) panel's width, and every panel's height, in inches at :data:`DPI`.
FULL_WIDTH_IN: Final[float] = 14.0
PANEL_HEIGHT_IN: Final[float] = 3.2
DPI: Final[int] = 100
#: The colour of a state timeline's zero (off) state.
OFF: Final[str] = "#E4E4E4"
#: Inches per legend character at the legend's font size, to fit its columns.
CHAR_IN: Final[float] = 0.075


def when(seconds: float) -> float:
    """Unix seconds as matplotlib's date number (UTC)."""
    return float(mdates.date2num(datetime.fromtimestamp(seconds, timezone.utc)))  # type: ignore[no-untyped-call]


def _time_axis(ax: Axes, metrics: RunMetrics) -> None:
    # matplotlib.dates has no type hints for these two
    locator = mdates.AutoDateLocator(tz=timezone.utc, minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    seconds = "%H:%M:%S" if metrics.duration < 600 else "%H:%M"
    ax.xaxis.set_major_formatter(mdates.DateFormatter(seconds, tz=timezone.utc))  # type: ignore[no-untyped-call]
    day = datetime.fromtimestamp(metrics.start, timezone.utc).strftime("%Y-%m-%d")
    ax.set_xlabel(f"UTC, {day}", fontsize=8, loc="right", color="#555555")
    ax.set_xlim(when(metrics.start), when(metrics.end))
    ax.tick_params(labelsize=8)
    ax.grid(True, color="#DDDDDD", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _draw_marks(ax: Axes, marks: Sequence[Mark]) -> list[Artist]:
    """Shade fault windows and draw step lines on ``ax``; legend handles, one per kind."""
    handles: dict[str, Artist] = {}
    for mark in marks:
        if mark.instant:
            ax.axvline(when(mark.start), color=mark.color, linestyle="--", linewidth=0.9, alpha=0.7, zorder=1)
            handles.setdefault(mark.kind, Line2D([], [], color=mark.color, linestyle="--", linewidth=0.9,
                                                 label=mark.kind))
        else:
            ax.axvspan(when(mark.start), when(mark.end), color=mark.color, alpha=0.12, linewidth=0, zorder=0)
            handles.setdefault(mark.kind, Patch(color=mark.color, alpha=0.25, label=mark.kind))
    return list(handles.values())


def _legend(fig: Figure, ax: Axes, handles: Sequence[Artist], width_in: float) -> None:
    if not handles:
        return
    longest = max(len(str(handle.get_label())) for handle in handles)
    columns = max(1, min(len(handles), int(width_in / ((longest + 5) * CHAR_IN))))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.13), ncol=columns, fontsize=8,
              frameon=False, handlelength=1.6, columnspacing=1.4)


def _with_gaps(series: Series, step: float) -> tuple[list[float], list[float]]:
    """The series' points as date numbers and values, a NaN in every gap longer than a step."""
    xs: list[float] = []
    ys: list[float] = []
    previous: float | None = None
    for time, value in zip(series.times, series.values):
        if previous is not None and time - previous > step * 1.5:
            xs.append(when((time + previous) / 2))
            ys.append(math.nan)
        xs.append(when(time))
        ys.append(value)
        previous = time
    return xs, ys


def _timeseries(fig: Figure, ax: Axes, data: PanelData, marks: Sequence[Mark], metrics: RunMetrics,
                width_in: float) -> None:
    step = query_step(metrics.duration)
    handles: list[Artist] = []
    below: list[float] = []
    if data.panel.stacked:
        grid = sorted({time for series in data.series for time in series.times})
        below = [0.0] * len(grid)
        for index, series in enumerate(data.series):
            points = dict(zip(series.times, series.values))
            above = [base + (points.get(time, 0.0) if math.isfinite(points.get(time, 0.0)) else 0.0)
                     for base, time in zip(below, grid)]
            color = PALETTE[index % len(PALETTE)]
            xs = [when(time) for time in grid]
            ax.fill_between(xs, below, above, color=color, alpha=0.35, linewidth=0, zorder=2)
            handles += ax.plot(xs, above, color=color, linewidth=1.2, label=series.name, zorder=3)
            below = above
    else:
        for index, series in enumerate(data.series):
            xs, ys = _with_gaps(series, step)
            handles += ax.plot(xs, ys, color=PALETTE[index % len(PALETTE)], linewidth=1.4, label=series.name,
                               zorder=3)
    handles += _draw_marks(ax, marks)
    if data.panel.stacked:
        highest = max(below, default=0.0)
    else:
        highest = max((value for series in data.series for value in series.values if math.isfinite(value)),
                      default=0.0)
    ax.set_ylim(0, highest * 1.1 if highest > 0 else 1)  # headroom over the top line; Grafana's 0 to 1 for a flat zero
    ax.yaxis.set_major_formatter(lambda value, _position: format_value(value, data.panel.unit))
    if data.panel.unit in AXIS_LABELS:
        ax.set_ylabel(AXIS_LABELS[data.panel.unit], fontsize=8)
    _legend(fig, ax, handles, width_in)


def _state_timeline(fig: Figure, ax: Axes, data: PanelData, marks: Sequence[Mark], metrics: RunMetrics,
                    width_in: float) -> None:
    step = query_step(metrics.duration)
    span = when(metrics.end) - when(metrics.start)
    rows = [series for series in data.series if series.has_data]
    for row, series in enumerate(rows):
        level = len(rows) - 1 - row
        color = PALETTE[row % len(PALETTE)]
        start = 0
        for index in range(1, len(series.times) + 1):
            if index < len(series.times) and series.values[index] == series.values[start] \
                    and series.times[index] - series.times[index - 1] <= step * 1.5:
                continue
            value = series.values[start]
            left = when(series.times[start])
            right = when(series.times[index - 1] + step)
            ax.broken_barh([(left, right - left)], (level - 0.4, 0.8), facecolors=OFF if value == 0 else color,
                           edgecolor="white", linewidth=0.5, zorder=2)
            if right - left > span * 0.06 and value not in (0.0,):
                ax.text((left + right) / 2, level, format_value(value, data.panel.unit), ha="center",
                        va="center", fontsize=7, color="black", zorder=3)
            start = index
    ax.set_yticks(range(len(rows)), [series.name for series in reversed(rows)], fontsize=8)
    ax.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    ax.grid(False, axis="y")
    _legend(fig, ax, _draw_marks(ax, [mark for mark in marks if mark.instant]), width_in)


def _stat(fig: Figure, data: PanelData, width_in: float) -> None:
    shown = [series for series in data.series if series.has_data]
    columns = max(1, min(len(shown), 4))
    for index, series in enumerate(shown):
        ax = fig.add_subplot(math.ceil(len(shown) / columns), columns, index + 1)
        color = PALETTE[index % len(PALETTE)]
        values = [value for value in series.values if math.isfinite(value)]
        xs = [when(time) for time, value in zip(series.times, series.values) if math.isfinite(value)]
        ax.fill_between(xs, 0, values, color=color, alpha=0.25, linewidth=0)
        ax.plot(xs, values, color=color, linewidth=1.0)
        ax.set_ylim(0, max(max(values), 1e-9) * 2.8)  # the sparkline keeps to the bottom third
        ax.set_axis_off()
        ax.text(0.5, 0.9, f"{series.name} (last value)", transform=ax.transAxes, ha="center", va="center",
                fontsize=9, color="#444444")
        ax.text(0.5, 0.6, format_value(values[-1], data.panel.unit), transform=ax.transAxes, ha="center",
                va="center", fontsize=34, fontweight="bold", color=color)


def render_panel(data: PanelData, marks: Sequence[Mark], metrics: RunMetrics, path: Path) -> None:
    """Draw ``data`` as ``path`` (PNG): the panel's kind, its series, the drill's marks;
    "No data" in the middle when its queries returned nothing."""
    panel = data.panel
    width_in = FULL_WIDTH_IN * panel.grid_pos.w / 24
    fig = Figure(figsize=(width_in, PANEL_HEIGHT_IN), dpi=DPI, layout="constrained")
    if not data.has_data:
        ax = fig.add_subplot()
        _time_axis(ax, metrics)
        ax.text(0.5, 0.5, "No data", transform=ax.transAxes, ha="center", va="center", fontsize=14, color="#888888")
        ax.set_yticks([])
    elif panel.type == "stat":
        _stat(fig, data, width_in)
    else:
        ax = fig.add_subplot()
        _time_axis(ax, metrics)
        if panel.type == "state-timeline":
            _state_timeline(fig, ax, data, marks, metrics, width_in)
        else:
            _timeseries(fig, ax, data, marks, metrics, width_in)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})


def render_marks(marks: Sequence[Mark], metrics: RunMetrics, path: Path) -> None:
    """The drill's events as one strip (``path``, PNG): a row per fault (its window shaded)
    and a row per kind of operator step (a tick at each), every row named."""
    rows: dict[str, list[Mark]] = {}
    for mark in marks:
        rows.setdefault(mark.label, []).append(mark)
    height = 0.9 + 0.22 * max(len(rows), 1)
    fig = Figure(figsize=(FULL_WIDTH_IN, height), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    _time_axis(ax, metrics)
    for level, found in enumerate(reversed(list(rows.values()))):
        for mark in found:
            if mark.instant:
                ax.plot([when(mark.start)], [level], marker="|", markersize=12, markeredgewidth=2, color=mark.color)
            else:
                ax.broken_barh([(when(mark.start), when(mark.end) - when(mark.start))], (level - 0.35, 0.7),
                               facecolors=mark.color, alpha=0.45)
    ax.set_yticks(range(len(rows)), list(reversed(list(rows))), fontsize=8)
    ax.set_ylim(-0.6, max(len(rows), 1) - 0.4)
    if not rows:
        ax.text(0.5, 0.5, "no faults or operator steps in this run", transform=ax.transAxes, ha="center",
                va="center", fontsize=10, color="#888888")
        ax.set_yticks([])
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
