"""The chart's count panels, computed from its samples: lifecycle counts per path, the
directory's errors by code and Shield's holds and rejects. An error code or decision that
never occurred has no line; a panel whose every line is zero through the run is empty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from drills.proofpack.samples import DRAWN, Sample

#: The Shield decisions drawn: ``pass`` is every other relay and would drown them.
SHIELD_DRAWN = ("hold", "reject")


@dataclass(frozen=True)
class Series:
    """One line of a panel: its label and its value at each sample."""

    label: str
    values: tuple[int, ...]

    @property
    def zero(self) -> bool:
        """Whether the line stays at zero through the run."""
        return not any(self.values)


@dataclass(frozen=True)
class CountPanel:
    """A panel of counts: what it shows (``key``), its axis label, the title of its
    legend (whose entries give each line's last value), and its lines."""

    key: str
    ylabel: str
    legend: str
    series: tuple[Series, ...]

    @property
    def empty(self) -> bool:
        """Whether the panel has nothing to show: every line stays at zero."""
        return all(line.zero for line in self.series)


def _lifecycle(samples: Sequence[Sample], path: str) -> CountPanel:
    series = tuple(Series(state, tuple(sample.drawn(path, state) for sample in samples)) for state in DRAWN[path])
    return CountPanel(path, f"{path} intents", "state (at the end)", series)


def _counted(samples: Sequence[Sample], key: str, read: Callable[[Sample], dict[str, int]], ylabel: str,
             legend: str, labels: Sequence[str] | None = None) -> CountPanel:
    counts = [read(sample) for sample in samples]
    seen = sorted({label for count in counts for label in count}) if labels is None else list(labels)
    series = tuple(Series(label, tuple(count.get(label, 0) for count in counts)) for label in seen)
    return CountPanel(key, ylabel, legend, tuple(line for line in series if not line.zero))


def count_panels(samples: Sequence[Sample]) -> list[CountPanel]:
    """Every count panel, top to bottom, empty ones included."""
    return [_lifecycle(samples, "directory"), _lifecycle(samples, "bus"),
            _counted(samples, "errors", lambda sample: sample.errors, "directory errors", "code (in all)"),
            _counted(samples, "shield", lambda sample: sample.shield, "Shield decisions", "decision (in all)",
                     SHIELD_DRAWN)]
