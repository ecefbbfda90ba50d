"""Means, 95 % confidence intervals and paired differences over a sweep's replications.

Each cell's measure gets the mean of its replications and Student's t interval
(``scipy.stats.t``). Because replication ``k`` runs with the same seed in every cell
(common random numbers), two levels of the compared axis are compared run by run: the
difference ``b − a`` for each replication both finished, then its mean and t interval.
A boolean measure (``recovered``) counts as 1 or 0, so its mean is the share of runs. A
rollout sweep's yes-or-no measures (:data:`~drills.sweep.model.PROPORTIONS`: caught at the
first step, failed, ...) get, per cell, their share of the runs and Wilson's binomial score
interval (``scipy.stats.binomtest``) instead: a share of 20 out of 20 has no spread for a
t interval to measure, and Wilson's interval still says how sure it is.
"""

from __future__ import annotations

import itertools
import math
import statistics
from typing import Any, Sequence

from pydantic import BaseModel

from drills.sweep.grid import Plan
from drills.sweep.model import PROPORTIONS

#: The confidence level of every interval.
CONFIDENCE = 0.95

Records = dict[tuple[int, int], dict[str, Any]]


class Estimate(BaseModel):
    """A mean over ``n`` values and its confidence interval (None below two values)."""

    n: int
    mean: float | None
    low: float | None
    high: float | None


def estimate(values: Sequence[float]) -> Estimate:
    """The mean of ``values`` and its :data:`CONFIDENCE` t interval."""
    n = len(values)
    if n == 0:
        return Estimate(n=0, mean=None, low=None, high=None)
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(n=1, mean=mean, low=None, high=None)
    from scipy import stats  # type: ignore[import-untyped]  # untyped; slow to import, so here

    half = float(stats.t.ppf((1 + CONFIDENCE) / 2, n - 1)) * statistics.stdev(values) / math.sqrt(n)
    return Estimate(n=n, mean=mean, low=mean - half, high=mean + half)


def wilson(count: int, total: int) -> tuple[float, float]:
    """Wilson's :data:`CONFIDENCE` score interval for ``count`` successes out of ``total`` (> 0) trials."""
    from scipy import stats  # slow to import, so here

    interval = stats.binomtest(count, total).proportion_ci(confidence_level=CONFIDENCE, method="wilson")
    return float(interval.low), float(interval.high)


def share(values: Sequence[float]) -> Estimate:
    """The share of ``values`` (each 0 or 1) that are 1, and its Wilson interval."""
    n = len(values)
    if n == 0:
        return Estimate(n=0, mean=None, low=None, high=None)
    count = sum(1 for value in values if value)
    low, high = wilson(count, n)
    return Estimate(n=n, mean=count / n, low=low, high=high)


class CellSummary(BaseModel):
    """One cell: its values by axis, how many runs finished and failed, each measure's estimate."""

    cell: int
    overrides: dict[str, Any]
    runs: int
    failed: int
    measures: dict[str, Estimate]


class Difference(BaseModel):
    """The paired difference ``level_b − level_a`` of the compared axis, the other axes held at ``at``."""

    axis: str
    level_a: Any
    level_b: Any
    at: dict[str, Any]
    measures: dict[str, Estimate]


def _value(record: dict[str, Any] | None, measure: str) -> float | None:
    if record is None or record["status"] != "ok":
        return None
    value = record["measures"][measure]
    return None if value is None else float(value)


def cell_summaries(plan: Plan, records: Records) -> list[CellSummary]:
    """Every cell's estimates from the records at hand (missing runs are left out)."""
    summaries = []
    for cell in plan.cells:
        found = [records.get((cell.index, k)) for k in range(len(plan.seeds))]
        finished = [record for record in found if record is not None]
        measures: dict[str, Estimate] = {}
        for measure in plan.sweep.measures:
            values = [v for v in (_value(record, measure) for record in finished) if v is not None]
            measures[measure] = share(values) if measure in PROPORTIONS else estimate(values)
        summaries.append(CellSummary(cell=cell.index, overrides=plan.overrides(cell), runs=len(finished),
                                     failed=sum(record["status"] != "ok" for record in finished), measures=measures))
    return summaries


def differences(plan: Plan, records: Records) -> list[Difference]:
    """Paired differences between every two levels of the compared axis, at each
    combination of the other axes' values."""
    compare = plan.compare
    if compare is None:
        return []
    axis_index = plan.axes.index(compare)
    by_positions = {cell.positions: cell for cell in plan.cells}
    others = [axis for axis in plan.axes if axis is not compare]
    found: list[Difference] = []
    for context in itertools.product(*(range(len(axis.values)) for axis in others)):
        for a, b in itertools.combinations(range(len(compare.values)), 2):
            cells = []
            for level in (a, b):
                positions = list(context)
                positions.insert(axis_index, level)
                cells.append(by_positions[tuple(positions)])
            measures: dict[str, Estimate] = {}
            for measure in plan.sweep.measures:
                paired = []
                for k in range(len(plan.seeds)):
                    first = _value(records.get((cells[0].index, k)), measure)
                    second = _value(records.get((cells[1].index, k)), measure)
                    if first is not None and second is not None:
                        paired.append(second - first)
                measures[measure] = estimate(paired)
            found.append(Difference(axis=compare.label, level_a=compare.values[a], level_b=compare.values[b],
                                    at={axis.label: axis.values[position] for axis, position in zip(others, context)},
                                    measures=measures))
    return found
