"""Time to recover after the last fault ends, from the times intents were delivered.

The baseline is goodput before the first fault started. After the last fault ended at
``end``, the world has recovered at the first delivery time ``t`` whose trailing window
``(t - window, t]`` lies wholly after ``end`` and holds at least
``(1 - tolerance) × baseline × window`` deliveries; time to recover is ``t - end``.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence


class Recovery(NamedTuple):
    """Whether goodput came back after the last fault, and how long that took (seconds).

    ``recovered`` is None when there is nothing to judge: no fault ended, or no goodput
    before the first fault to come back to (a fault from t=0, or nothing delivered)."""

    recovered: bool | None
    seconds: float | None


def time_to_recover(deliveries: Sequence[float], first_fault_start: float | None, last_fault_end: float | None,
                    still_faulted: bool, run_end: float, window: float, tolerance: float) -> Recovery:
    """Judge recovery from the sorted delivery times of a run (see the module's doc).

    ``still_faulted``: a fault was still active when the run ended, so it never recovered.
    """
    if first_fault_start is None or first_fault_start <= 0:
        return Recovery(None, None)
    baseline = sum(1 for t in deliveries if t < first_fault_start) / first_fault_start
    if baseline <= 0:
        return Recovery(None, None)
    if still_faulted or last_fault_end is None:
        return Recovery(False, None)
    needed = max(1, math.ceil((1 - tolerance) * baseline * window - 1e-9))
    start = 0
    for stop, t in enumerate(deliveries):
        if t > run_end:
            break
        if t - window < last_fault_end:
            continue
        while deliveries[start] <= t - window:
            start += 1
        if stop - start + 1 >= needed:
            return Recovery(True, t - last_fault_end)
    return Recovery(False, None)
