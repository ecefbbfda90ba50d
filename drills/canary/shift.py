"""The Hodges–Lehmann shift between two samples and its distribution-free confidence interval.

SciPy's ``mannwhitneyu`` gives the test's p-value but no estimate of the shift, so this module
computes what R's ``wilcox.test(x, y, conf.int=TRUE)`` and Kayenta's ``MannWhitney`` do:

- the estimate is the median of the ``m·n`` pairwise differences ``canary[i] − baseline[j]``;
- the interval is a pair of order statistics of those differences, ``d(k)`` and ``d(m·n + 1 − k)``:
  the shifts the two-sided Mann–Whitney test would not reject at ``1 − confidence``.

``k`` comes, as in R, from the exact distribution of U when both samples have fewer than 50
values and no value of one sample equals a value of the other or of its own sample (R's
``qwilcox(α/2, m, n)``, at least 1); otherwise from the normal approximation with the continuity
correction and the tie correction, ``k = ⌈m·n/2 − ½ − z·σ⌉`` with ``z`` the ``1 − α/2`` normal
quantile. That ``k`` is exactly where the root Kayenta and R find by bisection lies (their
``wilcoxonDiff`` / ``wdiff`` is a step function of the shift that changes only at a pairwise
difference), so this computes the same interval without a solver's tolerance. Away from the
pairwise differences no value of one sample ties with one of the other, so σ carries only the
ties within each sample.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

#: R's cut-off: below this many values in both samples (and no ties) the interval is exact.
EXACT_BELOW = 50


@dataclass(frozen=True)
class ShiftEstimate:
    """The Hodges–Lehmann shift of canary over baseline with its confidence interval."""

    estimate: float
    lower: float
    upper: float
    #: True when the interval's rank came from U's exact distribution, False from the normal approximation.
    exact: bool


def uses_exact_distribution(canary: Sequence[float], baseline: Sequence[float]) -> bool:
    """R's rule: exact when both samples have fewer than 50 values and no two values are equal."""
    combined = [*canary, *baseline]
    return len(canary) < EXACT_BELOW and len(baseline) < EXACT_BELOW and len(set(combined)) == len(combined)


@cache
def u_counts(m: int, n: int) -> tuple[int, ...]:
    """How many of the ``C(m+n, m)`` equally likely rankings give U = 0, 1, …, m·n.

    The coefficients of the Gaussian binomial ``∏_{i=1..m} (1 − q^(n+i)) / (1 − q^i)``,
    computed as a power series truncated at degree m·n (every step is lower-triangular, so
    the truncation is exact)."""
    top = m * n
    coefficients = [1] + [0] * top
    for i in range(1, m + 1):
        for degree in range(top, n + i - 1, -1):
            coefficients[degree] -= coefficients[degree - n - i]
        for degree in range(i, top + 1):
            coefficients[degree] += coefficients[degree - i]
    return tuple(coefficients)


def exact_rank(m: int, n: int, confidence: float) -> int:
    """R's ``max(1, qwilcox(α/2, m, n))``: the smallest u with P(U ≤ u) ≥ α/2, at least 1."""
    counts = u_counts(m, n)
    total = math.comb(m + n, m)
    # R's own guard against rounding: it compares with α/2 minus ten machine epsilons.
    target = (1.0 - confidence) / 2 - 10 * np.finfo(float).eps
    cumulative = 0
    for u, count in enumerate(counts):
        cumulative += count
        if cumulative / total >= target:
            return max(u, 1)
    return max(len(counts) - 1, 1)


def normal_rank(canary: Sequence[float], baseline: Sequence[float], confidence: float) -> int:
    """The rank ``k`` of the lower limit under the normal approximation with continuity and tie corrections."""
    m, n = len(canary), len(baseline)
    ties = sum(size**3 - size for side in (canary, baseline) for size in Counter(side).values())
    variance = m * n / 12 * ((m + n + 1) - ties / ((m + n) * (m + n - 1)))
    from scipy.stats import norm  # type: ignore[import-untyped]  # untyped; slow to import, so here

    z = float(norm.ppf(1 - (1 - confidence) / 2))
    return max(1, math.ceil(m * n / 2 - 0.5 - z * math.sqrt(variance)))


def pairwise_differences(canary: Sequence[float], baseline: Sequence[float]) -> np.ndarray:
    """Every ``canary[i] − baseline[j]``, sorted ascending."""
    return np.sort(np.subtract.outer(np.asarray(canary, dtype=float), np.asarray(baseline, dtype=float)).ravel())


def hodges_lehmann(canary: Sequence[float], baseline: Sequence[float], confidence: float = 0.98) -> ShiftEstimate:
    """The shift of ``canary`` over ``baseline`` (positive: canary higher) with its ``confidence`` interval.

    Both samples must be non-empty and finite."""
    if not canary or not baseline:
        raise ValueError("both samples need at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, found {confidence}")
    differences = pairwise_differences(canary, baseline)
    exact = uses_exact_distribution(canary, baseline)
    rank = exact_rank(len(canary), len(baseline), confidence) if exact else normal_rank(canary, baseline, confidence)
    rank = min(rank, (len(differences) + 1) // 2)
    return ShiftEstimate(estimate=float(np.median(differences)), lower=float(differences[rank - 1]),
                         upper=float(differences[len(differences) - rank]), exact=exact)
