"""The bench's table: one row per figure, with the bound the performance issue wants
beside it and whether the measured figure holds it."""

from __future__ import annotations

import statistics
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict

#: What a row says of its figure: ``holds`` (the median round holds the bound), ``best
#: round only`` (only the best does), ``does not hold``, or ``not judged`` (this mode does
#: not run what the bound is about, e.g. a quick run stops short of a million intents).
Verdict = Literal["holds", "best round only", "does not hold", "not judged"]


class Bound(BaseModel):
    """A wanted bound on a figure: at most (``<=``) or at least (``>=``) ``value``."""

    model_config = ConfigDict(frozen=True)

    op: Literal["<=", ">="]
    value: float

    def holds(self, figure: float) -> bool:
        """Return whether ``figure`` is within the bound."""
        return figure <= self.value if self.op == "<=" else figure >= self.value

    def text(self, unit: str) -> str:
        """The bound as the table prints it: ``≤ 2×``, ``≥ 0.5×``, ``≤ 300 MiB``."""
        sign = "≤" if self.op == "<=" else "≥"
        return f"{sign} {self.value:g}{unit}" if unit == "×" else f"{sign} {self.value:g} {unit}"


def judge(bound: Bound | None, best: float, median: float, judged: bool = True) -> Verdict | None:
    """The verdict on a figure whose best round gave ``best`` and median round ``median``;
    None for a row without a bound."""
    if bound is None:
        return None
    if not judged:
        return "not judged"
    if bound.holds(median):
        return "holds"
    if bound.holds(best):
        return "best round only"
    return "does not hold"


class Row(BaseModel):
    """One figure of the table.

    ``best`` and ``median`` come from the fastest and the median round (for a ratio, the
    ratio of the two sides' fastest rounds and of their median rounds); a figure measured
    once has the same value in both. ``note`` says what was run for it.
    """

    model_config = ConfigDict(frozen=True)

    case: str
    figure: str
    unit: str
    best: float
    median: float
    rounds: int
    bound: Bound | None = None
    verdict: Verdict | None = None
    note: str = ""


def row(case: str, figure: str, unit: str, best: float, median: float, rounds: int,
        bound: Bound | None = None, judged: bool = True, note: str = "") -> Row:
    """A :class:`Row` with its verdict worked out."""
    return Row(case=case, figure=figure, unit=unit, best=best, median=median, rounds=rounds, bound=bound,
               verdict=judge(bound, best, median, judged), note=note)


def best_and_median(costs: Sequence[float]) -> tuple[float, float]:
    """The lowest and the median of per-round costs (seconds, or seconds per intent)."""
    if not costs:
        raise ValueError("no rounds measured")
    return min(costs), statistics.median(costs)


def cost_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> tuple[float, float]:
    """``numerator / denominator`` of two per-round cost lists: (best over best, median over median)."""
    best_n, median_n = best_and_median(numerator)
    best_d, median_d = best_and_median(denominator)
    return best_n / best_d, median_n / median_d
