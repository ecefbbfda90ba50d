"""Exact order statistics of integer milliseconds, cheap enough to update per intent.

Beam's overview computes the p95 latency by sorting every latency of the window and taking
the nearest rank, index ``ceil(n·p) − 1`` (beam-model §9.2). Sorting hundreds of thousands
of values at every alert evaluation is too slow for a simulated day, so
:class:`MsHistogram` keeps the same multiset as counts per millisecond: adding or removing
a value is two list increments, and a percentile walks at most a few hundred block sums
and one block. The answer is the same value the sort would give, not an approximation.

:func:`js_round` reproduces JavaScript's ``Math.round(x·10^d) / 10^d``, which Beam uses for
ratios and averages (half-way cases go towards +∞, unlike Python's ``round``).
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from typing import Final, Iterable

#: Values below this many milliseconds are counted per millisecond; larger ones are kept sorted.
FINE_LIMIT: Final[int] = 1 << 17  # 131 072 ms
#: log2 of the block width: blocks of 512 ms.
BLOCK_SHIFT: Final[int] = 9
_BLOCK: Final[int] = 1 << BLOCK_SHIFT


def nearest_rank_index(count: int, fraction: float) -> int:
    """The index Beam's ``percentile`` takes in a sorted list of ``count`` values:
    ``min(count − 1, max(0, ceil(count·fraction) − 1))``."""
    return min(count - 1, max(0, math.ceil(count * fraction) - 1))


def nearest_rank(values: Iterable[int], fraction: float) -> int | None:
    """Beam's percentile by sorting (the reference :class:`MsHistogram` must agree with):
    None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[nearest_rank_index(len(ordered), fraction)]


def js_round(value: float, digits: int = 0) -> float:
    """``Math.round(value·10^digits) / 10^digits`` as JavaScript computes it."""
    factor = 10 ** digits
    scaled = value * factor
    whole = math.floor(scaled)
    rounded = whole + 1 if scaled - whole >= 0.5 else whole
    return rounded / factor if digits else float(rounded)


class MsHistogram:
    """A multiset of non-negative integer milliseconds with exact nearest-rank percentiles.

    ``count``, ``total`` (the sum) and ``under`` (how many values are below ``watch``, a
    threshold asked about often) are kept as values are added and removed. Removing a
    value that is not in the multiset is a bug in the caller and raises.
    """

    __slots__ = ("cells", "blocks", "overflow", "count", "total", "watch", "under")

    def __init__(self, watch: int = 0) -> None:
        self.cells = [0] * FINE_LIMIT
        self.blocks = [0] * (FINE_LIMIT >> BLOCK_SHIFT)
        self.overflow: list[int] = []
        self.count = 0
        self.total = 0
        self.watch = watch
        self.under = 0

    def add(self, ms: int) -> None:
        """Add one value."""
        if ms < FINE_LIMIT:
            self.cells[ms] += 1
            self.blocks[ms >> BLOCK_SHIFT] += 1
        else:
            insort(self.overflow, ms)
        self.count += 1
        self.total += ms
        if ms < self.watch:
            self.under += 1

    def remove(self, ms: int) -> None:
        """Remove one occurrence of a value."""
        if ms < FINE_LIMIT:
            if self.cells[ms] <= 0:
                raise ValueError(f"{ms} ms is not in the histogram")
            self.cells[ms] -= 1
            self.blocks[ms >> BLOCK_SHIFT] -= 1
        else:
            index = bisect_left(self.overflow, ms)
            if index == len(self.overflow) or self.overflow[index] != ms:
                raise ValueError(f"{ms} ms is not in the histogram")
            del self.overflow[index]
        self.count -= 1
        self.total -= ms
        if ms < self.watch:
            self.under -= 1

    def remove_all(self, values: Iterable[int]) -> None:
        """Remove one occurrence of each value (a batch of expired latencies)."""
        cells, blocks, overflow, watch = self.cells, self.blocks, self.overflow, self.watch
        count = total = under = 0
        for ms in values:
            if ms < FINE_LIMIT:
                if cells[ms] <= 0:
                    raise ValueError(f"{ms} ms is not in the histogram")
                cells[ms] -= 1
                blocks[ms >> BLOCK_SHIFT] -= 1
            else:
                index = bisect_left(overflow, ms)
                if index == len(overflow) or overflow[index] != ms:
                    raise ValueError(f"{ms} ms is not in the histogram")
                del overflow[index]
            count += 1
            total += ms
            if ms < watch:
                under += 1
        self.count -= count
        self.total -= total
        self.under -= under

    def kth(self, k: int) -> int:
        """The ``k``-th smallest value, counting from 0."""
        if not 0 <= k < self.count:
            raise IndexError(k)
        blocks, cells = self.blocks, self.cells
        below = 0  # values in the blocks walked so far
        for block in range(len(blocks)):  # compiled: a plain loop, left at the block holding it
            count = blocks[block]
            if below + count > k:
                for ms in range(block << BLOCK_SHIFT, (block + 1) << BLOCK_SHIFT):
                    below += cells[ms]
                    if below > k:
                        return ms
            below += count
        return self.overflow[k - below]

    def below(self, ms: int) -> int:
        """How many values are smaller than ``ms``."""
        if ms == self.watch:
            return self.under
        if ms >= FINE_LIMIT:
            return self.count - (len(self.overflow) - bisect_left(self.overflow, ms))
        block = ms >> BLOCK_SHIFT
        return sum(self.blocks[:block]) + sum(self.cells[block << BLOCK_SHIFT:ms])

    def percentile_at_least(self, fraction: float, ms: int) -> bool:
        """Whether the nearest-rank percentile is at least ``ms`` (False when empty),
        without finding the percentile itself."""
        return self.count > 0 and self.below(ms) <= nearest_rank_index(self.count, fraction)

    def percentile(self, fraction: float) -> int | None:
        """The nearest-rank percentile (Beam's ``percentile(values, fraction)``), None when empty."""
        if self.count == 0:
            return None
        return self.kth(nearest_rank_index(self.count, fraction))

    def mean(self, digits: int = 2) -> float | None:
        """The mean rounded as Beam rounds ``avgLatencyMs`` (2 decimals), None when empty."""
        if self.count == 0:
            return None
        return js_round(self.total / self.count, digits)
