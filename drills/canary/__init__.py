"""Canary analysis: Kayenta's Mann–Whitney judge and Flagger-style threshold checks.

Judge two samples from a notebook::

    from drills import judge
    from drills.canary import JudgeConfig, MetricSpec
    result = judge({"latency_ms": (baseline, canary)}, JudgeConfig(metrics=[MetricSpec(name="latency_ms")]))
    print(result.decision, result.score, result.reason)
"""

from drills.canary.judge import (
    Classification,
    Decision,
    Direction,
    GroupWeight,
    JudgeConfig,
    JudgeResult,
    MetricSpec,
    MetricVerdict,
    compare_metric,
    judge,
)
from drills.canary.thresholds import FLAGGER_DEFAULTS, ThresholdCheck, ThresholdVerdict, check_thresholds

__all__ = ["FLAGGER_DEFAULTS", "Classification", "Decision", "Direction", "GroupWeight", "JudgeConfig", "JudgeResult",
           "MetricSpec", "MetricVerdict", "ThresholdCheck", "ThresholdVerdict", "check_thresholds", "compare_metric",
           "judge"]
