"""Running a dashboard's queries over a run's time range: template variables resolved the
way Grafana resolves them, legends formatted, range results turned into series, and the
annotation queries turned into the drill's fault windows and operator steps."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

from drills.prometheus.api import PromAPI
from drills.prometheus.run import RunMetrics
from drills.snapshot.board import AnnotationQuery, Board, Panel

#: The generated prometheus.yml's scrape interval, which Grafana's datasource declares too
#: (``timeInterval``); ``$__rate_interval`` is computed from it.
SCRAPE_INTERVAL_S: Final[float] = 15.0
#: At most this many points per series (Prometheus refuses more than 11,000).
MAX_POINTS: Final[int] = 10_000
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
_LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")


class SnapshotError(Exception):
    """A dashboard cannot be queried as it is (an unknown template variable); the message names it."""


def query_step(duration: float) -> float:
    """The range queries' step: the scrape interval, or a multiple of it that keeps a
    series within :data:`MAX_POINTS`."""
    return SCRAPE_INTERVAL_S * max(1, math.ceil(duration / SCRAPE_INTERVAL_S / MAX_POINTS))


def variables(board: Board, step: float, duration: float) -> dict[str, str]:
    """What each variable of ``board`` stands for in a query: Grafana's ``$__interval``,
    ``$__rate_interval`` and ``$__range``, and each template variable's current selection
    (``All`` as its all-value, several values as a regex alternation)."""
    values = {"__interval": f"{step:g}s", "__rate_interval": f"{max(step + SCRAPE_INTERVAL_S, 4 * SCRAPE_INTERVAL_S):g}s",
              "__range": f"{math.ceil(duration):d}s"}
    for variable in board.templating.variables:
        if variable.type == "datasource":
            continue
        current = variable.current.value
        chosen = current if isinstance(current, list) else [current]
        if "$__all" in chosen or not chosen:
            values[variable.name] = variable.all_value or ".*"
        else:
            values[variable.name] = chosen[0] if len(chosen) == 1 else "(" + "|".join(chosen) + ")"
    return values


def resolve(expr: str, values: dict[str, str], where: str) -> str:
    """``expr`` with every ``$name`` and ``${name}`` replaced by ``values[name]``."""
    def substitute(found: re.Match[str]) -> str:
        name = found.group(1) or found.group(2)
        if name not in values:
            raise SnapshotError(f"{where}: unknown template variable ${name} in {expr}")
        return values[name]
    return _VARIABLE.sub(substitute, expr)


def legend(form: str, labels: dict[str, str], expr: str) -> str:
    """A series' name as Grafana shows it: ``form`` with ``{{label}}`` filled in; for
    ``__auto`` or no form, the metric and its labels (the query itself when it has neither)."""
    if form and form != "__auto":
        filled = _LEGEND.sub(lambda found: labels.get(found.group(1), ""), form).strip()
        return filled if any(char.isalnum() for char in filled) else "value"
    name = labels.get("__name__", "")
    rest = ", ".join(f'{key}="{value}"' for key, value in sorted(labels.items()) if key != "__name__")
    return f"{name}{{{rest}}}" if rest else (name or expr)


@dataclass(frozen=True)
class Series:
    """One series of a panel: its legend name and its points (Unix seconds, values; NaN
    where Prometheus returned NaN)."""

    name: str
    times: tuple[float, ...]
    values: tuple[float, ...]

    @property
    def has_data(self) -> bool:
        """Whether any point is a number."""
        return any(math.isfinite(value) for value in self.values)


@dataclass(frozen=True)
class PanelData:
    """A panel and the series its queries returned, with the queries as run."""

    panel: Panel
    series: tuple[Series, ...]
    queries: tuple[str, ...]

    @property
    def has_data(self) -> bool:
        """Whether the panel shows anything (Grafana's "No data" otherwise)."""
        return any(one.has_data for one in self.series)


@dataclass(frozen=True)
class Mark:
    """A drill annotation: a fault window, or an operator step (an instant, drawn at ``start``).
    ``kind`` is the annotation query's name."""

    kind: str
    color: str
    name: str
    start: float
    end: float
    instant: bool

    @property
    def label(self) -> str:
        """The mark as a row of the events strip names it: ``step: send``, ``fault: outage``."""
        return f"{'step' if self.instant else 'fault'}: {self.name}"


def _series(result: list[dict[str, Any]], form: str, expr: str) -> list[Series]:
    return [Series(legend(form, dict(item["metric"]), expr), tuple(float(t) for t, _ in item["values"]),
                   tuple(float(v) for _, v in item["values"])) for item in result]


def query_panel(api: PromAPI, board: Board, panel: Panel, metrics: RunMetrics) -> PanelData:
    """Run every query of ``panel`` over the run's time range."""
    step = query_step(metrics.duration)
    values = variables(board, step, metrics.duration)
    series: list[Series] = []
    queries: list[str] = []
    for target in panel.targets:
        expr = resolve(target.expr, values, f"dashboard {board.title!r}, panel {panel.title!r}")
        queries.append(expr)
        series += _series(api.range(expr, metrics.start, metrics.end, step), target.legend_format, expr)
    return PanelData(panel, tuple(series), tuple(queries))


def _segments(times: list[float], step: float) -> list[tuple[float, float]]:
    """Runs of consecutive sample times (no gap longer than ``step``) as (first, last)."""
    runs: list[tuple[float, float]] = []
    for time in times:
        if runs and time - runs[-1][1] <= step + 1e-6:
            runs[-1] = (runs[-1][0], time)
        else:
            runs.append((time, time))
    return runs


def marks_step(duration: float) -> float:
    """The annotation queries' step: a second, or more to stay within :data:`MAX_POINTS`,
    so a mark starts within a second of its event."""
    return float(max(1, math.ceil(duration / MAX_POINTS)))


def query_marks(api: PromAPI, board: Board, metrics: RunMetrics) -> list[Mark]:
    """The enabled annotation queries' results as marks, in time order: each run of
    consecutive samples of a series is one mark named by its ``name`` label; a series with
    ``kind="step"`` marks instants."""
    step = marks_step(metrics.duration)
    values = variables(board, query_step(metrics.duration), metrics.duration)
    marks: list[Mark] = []
    queries: list[AnnotationQuery] = [query for query in board.annotations.queries if query.enable and query.expr]
    for query in queries:
        expr = resolve(query.expr, values, f"dashboard {board.title!r}, annotation {query.name!r}")
        for item in api.range(expr, metrics.start, metrics.end, step):
            labels = dict(item["metric"])
            times = [float(t) for t, _ in item["values"]]
            name = labels.get("name", legend("", labels, expr))
            marks += [Mark(query.name, query.icon_color, name, first, last + step, labels.get("kind") == "step")
                      for first, last in _segments(times, step)]
    return sorted(marks, key=lambda mark: (mark.start, mark.kind, mark.name))
