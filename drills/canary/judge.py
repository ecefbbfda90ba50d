"""Kayenta's canary judge: compare each metric's canary sample with its baseline, then score.

Per metric (:func:`compare_metric`), as Kayenta's ``NetflixACAJudge`` with its
``MannWhitneyClassifier``:

1. drop NaN values, then, when the metric asks, remove outliers (IQR, factor 3) from each side;
2. NoData when either side is then empty;
3. the two-sided Mann–Whitney U test (SciPy's ``mannwhitneyu``; exact or normal approximation
   by the same rule as the interval) and the Hodges–Lehmann shift ``canary − baseline`` with its
   distribution-free interval at ``confidence`` (98 %, :mod:`drills.canary.shift`);
4. **High** when the whole interval lies above ``+effect_size_pct %`` of the baseline's level
   (its median) and an increase is harmful; **Low** when it lies below ``−effect_size_pct %`` and
   a decrease is harmful; **Pass** otherwise. The allowed band is the issue's: Kayenta's own band
   is 25 % of the estimate combined with an allowed mean ratio, which this single band replaces.

Then (:func:`judge`), as Kayenta's ``WeightedSumScorer`` and ``ThresholdScoreClassifier``: each
group scores the share of its metrics that Pass (NoData is not a Pass), groups are weighted in
percent (unweighted groups share what the weighted ones leave of 100), a critical metric that
is not Pass zeroes the score, and the score (rounded to 2 decimals) against the pass and
marginal thresholds decides Successful, Inconclusive (pause for a human) or Failed (roll back).
When every metric is NoData nothing was judged: Inconclusive with score 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from drills.canary.outliers import remove_outliers
from drills.canary.shift import hodges_lehmann
from simulator.kernel.fields import Model

#: The direction in which a change of the metric is harmful.
Direction = Literal["increase", "decrease", "either"]
Classification = Literal["High", "Low", "Pass", "NoData"]
Decision = Literal["Successful", "Failed", "Inconclusive"]
#: The group of a metric that names none.
DEFAULT_GROUP = "default"


class MetricSpec(Model):
    """One metric the judge compares, and how."""

    name: str = Field(min_length=1)
    direction: Direction = "increase"
    #: The metric's group; None puts it in ``default``.
    group: str | None = None
    #: When not Pass, the whole score is 0.
    critical: bool = False
    #: Remove outliers from each side first (IQR fences, factor 3).
    remove_outliers: bool = False
    #: The allowed shift, in percent of the baseline's median.
    effect_size_pct: float = Field(default=25.0, ge=0.0)

    @property
    def group_name(self) -> str:
        """The group this metric scores in."""
        return self.group if self.group is not None else DEFAULT_GROUP


class GroupWeight(Model):
    """A metric group's share of the score, in percent."""

    name: str = Field(min_length=1)
    weight: float = Field(ge=0.0, le=100.0)


class JudgeConfig(Model):
    """The metrics, group weights, interval confidence and score thresholds of a judgement."""

    metrics: list[MetricSpec] = Field(min_length=1)
    groups: list[GroupWeight] = []
    confidence: float = Field(default=0.98, gt=0.0, lt=1.0)
    #: A score at or above this is Successful.
    pass_threshold: float = Field(default=95.0, ge=0.0, le=100.0)
    #: A score below this is Failed; between the two, Inconclusive.
    marginal_threshold: float = Field(default=75.0, ge=0.0, le=100.0)

    @model_validator(mode="after")
    def _consistent(self) -> JudgeConfig:
        names = [metric.name for metric in self.metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"metric names must be unique, found {sorted({n for n in names if names.count(n) > 1})}")
        used = {metric.group_name for metric in self.metrics}
        weighted = [group.name for group in self.groups]
        if len(set(weighted)) != len(weighted):
            raise ValueError("each group may be weighted once")
        if unused := sorted(set(weighted) - used):
            raise ValueError(f"weighted groups {unused} have no metric")
        total = sum(group.weight for group in self.groups)
        if total > 100.0 + 1e-9:
            raise ValueError(f"group weights must add up to at most 100, found {total:g}")
        if used <= set(weighted) and not math.isclose(total, 100.0):
            raise ValueError(f"every group is weighted, so the weights must add up to 100, found {total:g}")
        if self.marginal_threshold > self.pass_threshold:
            raise ValueError("marginal_threshold must not exceed pass_threshold")
        return self

    def group_weights(self) -> dict[str, float]:
        """Each group's weight in percent, the unweighted groups sharing the rest of 100 equally."""
        used = list(dict.fromkeys(metric.group_name for metric in self.metrics))
        given = {group.name: group.weight for group in self.groups}
        unweighted = [name for name in used if name not in given]
        share = (100.0 - sum(given.values())) / len(unweighted) if unweighted else 0.0
        return {name: given.get(name, share) for name in used}


class MetricVerdict(Model):
    """How one metric's canary compared with its baseline."""

    name: str
    classification: Classification
    #: The Hodges–Lehmann shift, canary − baseline.
    estimate: float | None
    lower: float | None
    upper: float | None
    #: The two-sided Mann–Whitney U p-value (SciPy's).
    p_value: float | None
    #: The baseline's median, what the allowed band is a percentage of.
    baseline_level: float | None
    baseline_count: int
    canary_count: int
    critical: bool
    group: str


class JudgeResult(Model):
    """The judge's score, decision and every metric's verdict."""

    score: float
    decision: Decision
    metrics: list[MetricVerdict]
    group_scores: dict[str, float]
    #: One line a person reads: why this decision.
    reason: str


def _cleaned(values: Sequence[float], spec: MetricSpec, side: str) -> list[float]:
    kept = [float(value) for value in values if not math.isnan(value)]
    if any(math.isinf(value) for value in kept):
        raise ValueError(f"metric {spec.name!r}: the {side} sample has an infinite value")
    return remove_outliers(kept) if spec.remove_outliers else kept


def compare_metric(baseline: Sequence[float], canary: Sequence[float], spec: MetricSpec,
                   confidence: float = 0.98) -> MetricVerdict:
    """Classify one metric: High, Low, Pass or NoData (see the module's docstring for the rule)."""
    base = _cleaned(baseline, spec, "baseline")
    new = _cleaned(canary, spec, "canary")
    if not base or not new:
        return MetricVerdict(name=spec.name, classification="NoData", estimate=None, lower=None, upper=None,
                             p_value=None, baseline_level=float(np.median(base)) if base else None,
                             baseline_count=len(base), canary_count=len(new), critical=spec.critical,
                             group=spec.group_name)
    shift = hodges_lehmann(new, base, confidence)
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]  # untyped; slow to import, so here

    test = mannwhitneyu(new, base, alternative="two-sided", method="exact" if shift.exact else "asymptotic")
    p_value = float(test.pvalue)
    level = float(np.median(base))
    allowed = spec.effect_size_pct / 100.0 * abs(level)
    classification: Classification = "Pass"
    if spec.direction in ("increase", "either") and shift.lower > allowed:
        classification = "High"
    elif spec.direction in ("decrease", "either") and shift.upper < -allowed:
        classification = "Low"
    return MetricVerdict(name=spec.name, classification=classification, estimate=shift.estimate,
                         lower=shift.lower, upper=shift.upper, p_value=p_value if math.isfinite(p_value) else None,
                         baseline_level=level, baseline_count=len(base), canary_count=len(new),
                         critical=spec.critical, group=spec.group_name)


def _describe(verdict: MetricVerdict) -> str:
    if verdict.classification == "NoData":
        return f"{verdict.name} NoData ({verdict.baseline_count} baseline, {verdict.canary_count} canary values)"
    return (f"{verdict.name} {verdict.classification} (shift {verdict.estimate:+.4g}, interval "
            f"[{verdict.lower:+.4g}, {verdict.upper:+.4g}] vs baseline level {verdict.baseline_level:.4g})")


def judge(samples: Mapping[str, tuple[Sequence[float], Sequence[float]]], config: JudgeConfig) -> JudgeResult:
    """Judge a canary: ``samples`` maps each metric's name to (baseline values, canary values).

    A metric of ``config`` with no samples is NoData; a sample for a metric the config does not
    name is an error (ValueError), not silently ignored."""
    if unknown := sorted(set(samples) - {metric.name for metric in config.metrics}):
        raise ValueError(f"samples for metrics the judge config does not name: {unknown}")
    verdicts = [compare_metric(*samples.get(spec.name, ((), ())), spec=spec, confidence=config.confidence)
                for spec in config.metrics]
    weights = config.group_weights()
    group_scores = {}
    for group in weights:
        members = [verdict for verdict in verdicts if verdict.group == group]
        group_scores[group] = 100.0 * sum(verdict.classification == "Pass" for verdict in members) / len(members)
    failing = [verdict for verdict in verdicts if verdict.classification != "Pass"]
    critical = [verdict for verdict in failing if verdict.critical]
    if all(verdict.classification == "NoData" for verdict in verdicts):
        return JudgeResult(score=0.0, decision="Inconclusive", metrics=verdicts, group_scores=group_scores,
                           reason="no metric had data on both sides: nothing to judge")
    if critical:
        score = 0.0
    else:
        score = round(sum(group_scores[group] * weights[group] / 100.0 for group in weights), 2)
    decision: Decision = ("Successful" if score >= config.pass_threshold
                          else "Failed" if score < config.marginal_threshold else "Inconclusive")
    if critical:
        reason = f"score 0: critical metric {_describe(critical[0])}"
    elif not failing:
        reason = f"score {score:g}: every metric passed"
    else:
        reason = f"score {score:g}: " + "; ".join(_describe(verdict) for verdict in failing)
    threshold = (f" (pass ≥ {config.pass_threshold:g})" if decision == "Successful"
                 else f" (< marginal {config.marginal_threshold:g})" if decision == "Failed"
                 else f" (between marginal {config.marginal_threshold:g} and pass {config.pass_threshold:g})")
    return JudgeResult(score=score, decision=decision, metrics=verdicts, group_scores=group_scores,
                       reason=f"{decision}{threshold}: {reason}")
