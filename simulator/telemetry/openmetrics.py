"""A compact store of scraped samples and the timestamped OpenMetrics text it becomes.

The text is written for ``promtool tsdb create-blocks-from openmetrics``: every metric
family once, with its ``# HELP``, ``# TYPE`` and (when it has one) ``# UNIT``; inside a
family each metric (label set) with its points in time order, the samples of one point
(a histogram's buckets, count and sum) together; timestamps in seconds; ``# EOF`` last.

Memory: one array of scrape times shared by every series, and per series its name, label
pairs (kept once, when the series first appears) and an ``array('d')`` of values, 8 bytes
a sample. A series that appears after the first scrape remembers the scrape it started
at; a scrape that misses a known series stores NaN, which is not written.
"""

from __future__ import annotations

import math
from array import array
from typing import Final, Iterable, NamedTuple, Sequence, TextIO

from prometheus_client.metrics_core import Metric

#: The label that tells apart the samples of one point, per family type.
_POINT_LABEL: Final[dict[str, str]] = {"histogram": "le", "gaugehistogram": "le", "summary": "quantile"}

_append: Final = array.append

#: A series' label pairs, in the order its collector gave them.
Labels = tuple[tuple[str, str], ...]


class Family(NamedTuple):
    """A metric family's descriptors: name, OpenMetrics type, help text and unit."""

    name: str
    type: str
    help: str
    unit: str


class SeriesKey(NamedTuple):
    """What names one series: its family, sample name (``_total``, ``_bucket``... included) and label pairs."""

    family: Family
    name: str
    labels: Labels


class Layout(NamedTuple):
    """The families and series a collector's flat value list stands for, in order.

    A collector returns the same layout object for as long as its series stay the same;
    the store then appends values without looking any series up.
    """

    families: tuple[Family, ...]
    series: tuple[SeriesKey, ...]


class Series:
    """One time series: a sample name and label pairs, and its values from scrape ``first`` on."""

    __slots__ = ("family", "name", "labels", "first", "values")

    def __init__(self, family: int, name: str, labels: Labels, first: int) -> None:
        self.family = family
        self.name = name
        self.labels = labels
        self.first = first
        self.values = array("d")


class SampleStore:
    """Samples of every scrape, kept compactly, and their OpenMetrics text."""

    __slots__ = ("times", "families", "series", "_families", "_index", "_layout", "_arrays", "_last")

    def __init__(self) -> None:
        self.times = array("d")
        self.families: list[Family] = []
        self.series: list[Series] = []
        self._families: dict[str, int] = {}
        self._index: dict[tuple[str, Labels], Series] = {}
        # The layout of the last scrape (None after a generic one), the value arrays of its
        # series in layout order, and that scrape's index: the fast path of record_values.
        self._layout: Layout | None = None
        self._arrays: list[array[float]] = []
        self._last = -1

    def _position(self, now: float) -> tuple[int, bool]:
        """The scrape index for ``now`` and whether it is a new scrape (False: replace the last)."""
        times = self.times
        if times and now < times[-1]:
            raise ValueError(f"scrape at {now} is earlier than the last one at {times[-1]}")
        if times and now == times[-1]:
            return len(times) - 1, False
        times.append(now)
        return len(times) - 1, True

    def _family(self, family: Family) -> int:
        index = self._families.get(family.name)
        if index is None:
            index = self._families[family.name] = len(self.families)
            self.families.append(family)
        elif self.families[index].type != family.type:
            raise ValueError(f"metric family {family.name} changed type from "
                             f"{self.families[index].type} to {family.type}")
        return index

    def _put(self, family: int, name: str, labels: Labels, position: int, value: float) -> array[float]:
        series = self._index.get((name, labels))
        if series is None:
            series = self._index[(name, labels)] = Series(family, name, labels, position)
            self.series.append(series)
        values = series.values
        offset = position - series.first
        if offset < len(values):
            values[offset] = value
        else:
            while len(values) < offset:
                values.append(math.nan)
            values.append(value)
        return values

    def record(self, now: float, metrics: Iterable[Metric]) -> None:
        """Store one scrape of any collector's metric families, taken at virtual time ``now``.

        Scrapes come in time order; a second scrape at the time of the last one replaces
        its values, so every series has at most one sample per timestamp. A sample's own
        timestamp, if it has one, is ignored: the scrape time is the sample's time.
        """
        position, _ = self._position(now)
        self._layout = None
        for metric in metrics:
            family = self._family(Family(metric.name, metric.type, metric.documentation, metric.unit))
            for sample in metric.samples:
                self._put(family, sample.name, tuple(sample.labels.items()), position, sample.value)

    def record_values(self, now: float, layout: Layout, values: Sequence[float]) -> None:
        """Store one scrape given as a flat list of values in ``layout``'s series order.

        The same as :meth:`record` with the equivalent metric families, but when the
        layout is the one of the previous scrape the values are appended directly.
        """
        if len(values) != len(layout.series):
            raise ValueError(f"{len(values)} values for a layout of {len(layout.series)} series")
        position, new = self._position(now)
        if layout is self._layout and position == self._last + (1 if new else 0):
            if new:
                for _ in map(_append, self._arrays, values):  # the loop runs in C
                    pass
            else:
                for values_of, value in zip(self._arrays, values):
                    values_of[-1] = value
            self._last = position
            return
        families = [self._family(family) for family in layout.families]
        by_name = {family.name: index for family, index in zip(layout.families, families)}
        self._arrays = [self._put(by_name[key.family.name], key.name, key.labels, position, value)
                        for key, value in zip(layout.series, values)]
        self._layout, self._last = layout, position

    def write(self, stream: TextIO, epoch_s: float, more: str = "") -> int:
        """Write every sample as OpenMetrics text to ``stream``, timestamped
        ``epoch_s + virtual time`` in seconds (to the millisecond), then ``more`` (complete
        families of other series, already OpenMetrics text), ending in ``# EOF``.
        Return the number of sample lines written from the store."""
        metrics: list[dict[Labels, list[Series]]] = [{} for _ in self.families]
        for series in self.series:
            point_label = _POINT_LABEL.get(self.families[series.family].type)
            key = series.labels if point_label is None else tuple(p for p in series.labels if p[0] != point_label)
            metrics[series.family].setdefault(key, []).append(series)
        stamps = [f" {_timestamp(epoch_s + t)}\n" for t in self.times]  # each line's end
        numbers: dict[float, str] = {}  # counters repeat their values from scrape to scrape
        written = 0
        for family, by_labels in zip(self.families, metrics):
            stream.write(_descriptors(family))
            for group in by_labels.values():
                lines: list[str] = []
                heads = [f"{s.name}{_label_text(s.labels)} " for s in group]
                first, length = group[0].first, len(group[0].values)
                if len(group) == 1:  # most metrics: one series, its points in order
                    head = heads[0]
                    for stamp, value in zip(stamps[first:], group[0].values):
                        if value == value:
                            text = numbers.get(value)
                            if text is None:
                                text = numbers[value] = _number(value)
                            lines.append(f"{head}{text}{stamp}")
                    written += len(lines)
                    stream.write("".join(lines))
                    continue
                if all(s.first == first and len(s.values) == length for s in group):
                    # A histogram's buckets, count and sum, which share their scrapes.
                    for stamp, point in zip(stamps[first:], zip(*[s.values for s in group])):
                        for head, value in zip(heads, point):
                            if value == value:
                                text = numbers.get(value)
                                if text is None:
                                    text = numbers[value] = _number(value)
                                lines.append(f"{head}{text}{stamp}")
                    written += len(lines)
                    stream.write("".join(lines))
                    continue
                start = min(s.first for s in group)
                end = max(s.first + len(s.values) for s in group)
                for position in range(start, end):
                    stamp = stamps[position]
                    for head, series in zip(heads, group):
                        offset = position - series.first
                        if 0 <= offset < len(series.values):
                            value = series.values[offset]
                            if value == value:
                                text = numbers.get(value)
                                if text is None:
                                    text = numbers[value] = _number(value)
                                lines.append(f"{head}{text}{stamp}")
                written += len(lines)
                stream.write("".join(lines))
        stream.write(more)
        stream.write("# EOF\n")
        return written


def family_text(family: Family, points: Iterable[tuple[Labels, float, float]], epoch_s: float) -> str:
    """One whole family as OpenMetrics text: ``points`` are (labels, virtual time, value),
    grouped by labels in the order first given and time-sorted within each series."""
    series: dict[Labels, list[tuple[float, float]]] = {}
    for labels, time, value in points:
        series.setdefault(labels, []).append((time, value))
    lines = [_descriptors(family)]
    for labels, samples in series.items():
        head = f"{family.name}{_label_text(labels)} "
        lines += [f"{head}{_number(value)} {_timestamp(epoch_s + time)}\n" for time, value in sorted(samples)]
    return "".join(lines)


def _descriptors(family: Family) -> str:
    text = f"# HELP {family.name} {_escape(family.help)}\n# TYPE {family.name} {family.type}\n"
    if family.unit:
        text += f"# UNIT {family.name} {family.unit}\n"
    return text


def _escape(text: str) -> str:
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _label_text(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels) + "}"


def _number(value: float) -> str:
    """A sample value: integers without a fraction, infinities as ``+Inf``/``-Inf``."""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _timestamp(seconds: float) -> str:
    """Seconds since the Unix epoch, rounded to the millisecond Prometheus stores."""
    rounded = round(seconds, 3)
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)
