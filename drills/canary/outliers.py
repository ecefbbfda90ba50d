"""Kayenta's interquartile-range outlier removal, applied to each side of a comparison on its own.

Values below ``Q1 − factor·IQR`` or above ``Q3 + factor·IQR`` are outliers (Tukey's fences),
with Kayenta's reduced sensitivity: a fence never cuts inside the 1st or 99th percentile.
Percentiles are the R-7 estimate (linear interpolation, NumPy's default), as Kayenta's
``DescriptiveStatistics.percentile``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Kayenta's default fence factor for outlier removal.
OUTLIER_FACTOR = 3.0


def outlier_fences(values: Sequence[float], factor: float = OUTLIER_FACTOR) -> tuple[float, float]:
    """The lower and upper fences outside which a value of ``values`` (non-empty) is an outlier."""
    if factor <= 0:
        raise ValueError(f"the outlier factor must be greater than zero, found {factor}")
    p01, p25, p75, p99 = (float(p) for p in np.percentile(np.asarray(values, dtype=float), [1, 25, 75, 99]))
    spread = p75 - p25
    return min(p01, p25 - factor * spread), max(p99, p75 + factor * spread)


def remove_outliers(values: Sequence[float], factor: float = OUTLIER_FACTOR) -> list[float]:
    """``values`` without its outliers, in their original order."""
    if not values:
        return []
    lower, upper = outlier_fences(values, factor)
    return [value for value in values if lower <= value <= upper]
