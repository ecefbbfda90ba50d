"""A drill's own events as a Prometheus series, so dashboards can show them as annotations.

``beamdrill_drill_event{kind, name}`` is an info-style gauge written into the drill's
``metrics.om`` beside the world's series: ``kind="fault"`` for each fault of the scenario
(``name`` its name, as the proof pack's chart labels it) and ``kind="step"`` for each
operator step (``name`` its action). It is 1 while a fault lasts and 0 otherwise; an
instant fault (a restart) or a step is 1 for :data:`MARK_SECONDS` from its time, so a
range query at any step up to a minute sees it. Samples sit on the metrics' scrape grid,
plus one at every change, so the series is as dense as the world's own.
"""

from __future__ import annotations

from typing import Final, Sequence

from drills.proofpack.faultlog import FaultEntry, fault_timeline
from simulator.telemetry.openmetrics import Family, family_text
from simulator.telemetry.metrics import PREFIX

DRILL_EVENT: Final = Family(PREFIX + "drill_event", "gauge", "1 while a drill's fault lasts (kind=fault) and for "
                            "a minute from an instant fault or an operator step (kind=step); 0 otherwise.", "")
#: How long an instant event reads 1.
MARK_SECONDS: Final[float] = 60.0

#: (kind, name, start, end) of one event: 1 on [start, end).
Span = tuple[str, str, float, float]


def drill_spans(fault_log: Sequence[FaultEntry], performed: Sequence[tuple[float, str]], end: float) -> list[Span]:
    """The drill's faults and operator steps as spans of virtual time, in order of start."""
    timeline = fault_timeline(fault_log, end)
    spans: list[Span] = [("fault", window.name, window.start, window.end) for window in timeline.windows]
    spans += [("fault", marker.name, marker.time, marker.time + MARK_SECONDS) for marker in timeline.markers]
    spans += [("step", action, time, time + MARK_SECONDS) for time, action in performed]
    return sorted(spans, key=lambda span: (span[2], span[0], span[1]))


def drill_event_text(spans: Sequence[Span], end: float, interval: float, epoch_s: float) -> str:
    """The ``beamdrill_drill_event`` family as OpenMetrics text: every series from 0 to
    ``end`` on the scrape grid of ``interval`` seconds, plus a sample at each span's edges."""
    if not spans:
        return ""
    grid = [index * interval for index in range(int(end // interval) + 1)]
    if grid[-1] != end:
        grid.append(end)
    by_series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for kind, name, start, stop in spans:
        by_series.setdefault((kind, name), []).append((start, stop))
    points: list[tuple[tuple[tuple[str, str], ...], float, float]] = []
    for (kind, name), windows in by_series.items():
        times = sorted({*grid, *(t for window in windows for t in window if t <= end)})
        labels = (("kind", kind), ("name", name))
        points += [(labels, t, 1.0 if any(start <= t < stop for start, stop in windows) else 0.0) for t in times]
    return family_text(DRILL_EVENT, points, epoch_s)
