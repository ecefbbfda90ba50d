"""Flagger-style threshold checks beside the judge: a metric's single value against a minimum
and/or a maximum (Flagger's built-ins: request success rate ≥ 99 %, request duration p99 ≤ 500 ms).

A check fails when the value is missing or NaN: no data is not a pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pydantic import Field, model_validator

from simulator.kernel.fields import Model


class ThresholdCheck(Model):
    """One metric's bounds: the value must be at least ``min`` and at most ``max`` (either may be left out)."""

    metric: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> ThresholdCheck:
        if self.min is None and self.max is None:
            raise ValueError(f"threshold check {self.metric!r} needs a min, a max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"threshold check {self.metric!r}: min {self.min:g} exceeds max {self.max:g}")
        return self


class ThresholdVerdict(Model):
    """Whether one metric's value kept within its check's bounds, and why not."""

    metric: str
    value: float | None
    passed: bool
    reason: str


#: Flagger's two built-in checks, in the units of beamdrill's metrics (percent, milliseconds).
FLAGGER_DEFAULTS = (ThresholdCheck(metric="request_success_rate_pct", min=99.0),
                    ThresholdCheck(metric="request_duration_p99_ms", max=500.0))


def _verdict(value: float | None, check: ThresholdCheck) -> ThresholdVerdict:
    if value is None or math.isnan(value):
        return ThresholdVerdict(metric=check.metric, value=None, passed=False, reason=f"{check.metric}: no data")
    if check.min is not None and value < check.min:
        return ThresholdVerdict(metric=check.metric, value=value, passed=False,
                                reason=f"{check.metric} {value:g} < min {check.min:g}")
    if check.max is not None and value > check.max:
        return ThresholdVerdict(metric=check.metric, value=value, passed=False,
                                reason=f"{check.metric} {value:g} > max {check.max:g}")
    bounds = " and ".join(part for part in (f"≥ {check.min:g}" if check.min is not None else "",
                                            f"≤ {check.max:g}" if check.max is not None else "") if part)
    return ThresholdVerdict(metric=check.metric, value=value, passed=True, reason=f"{check.metric} {value:g} {bounds}")


def check_thresholds(values: Mapping[str, float | None], checks: Sequence[ThresholdCheck]) -> list[ThresholdVerdict]:
    """Each check's verdict on ``values`` (metric name → value; a missing one has no data), in the checks' order."""
    return [_verdict(values.get(check.metric), check) for check in checks]
