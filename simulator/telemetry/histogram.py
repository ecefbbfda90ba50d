"""The delivery-latency histogram of ``--metrics``, fed once per intent by the directory's
result-latency hook: compiled with the world, so the hook costs no Python call."""

from __future__ import annotations

import math
from typing import Any, Final

#: Upper bounds (seconds) of the delivery latency buckets; ``+Inf`` is added on export.
LATENCY_BUCKETS: Final[tuple[float, ...]] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)


class LatencyHistogram:
    """A fixed-bucket histogram cheap enough for the hot path: observe finds the bucket
    and adds twice; cumulative bucket counts are computed on export."""

    __slots__ = ("bounds", "les", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        if list(bounds) != sorted(set(bounds)) or not all(math.isfinite(b) for b in bounds):
            raise ValueError("bucket bounds must be finite, distinct and increasing")
        self.bounds = bounds
        #: The ``le`` label of every bucket, ``+Inf`` last.
        self.les: tuple[str, ...] = (*(repr(float(b)) for b in bounds), "+Inf")
        self.counts = [0] * (len(bounds) + 1)  # the last one is (bounds[-1], +Inf]
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        """Count one observation (a value equal to a bound falls in that bound's bucket)."""
        index = 0  # bisect_left, as a compiled loop: most latencies fall in the first buckets
        for bound in self.bounds:
            if not bound < seconds:
                break
            index += 1
        self.counts[index] += 1
        self.sum += seconds

    @property
    def count(self) -> int:
        """How many observations there were."""
        return sum(self.counts)

    def values(self) -> list[float]:
        """Cumulative bucket counts (one per :attr:`les`), then the count and the sum,
        the order Prometheus exposes a histogram's samples in."""
        running = 0
        values: list[Any] = []  # the counts stay ints (compiled, a list[float] would make them floats)
        for count in self.counts:
            running += count
            values.append(running)
        values.append(running)
        values.append(self.sum)
        return values
