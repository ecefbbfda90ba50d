"""The canary judge: SciPy's p-values, Hodges–Lehmann intervals checked by inverting the test by
brute force, exact classifications of crafted samples, scoring, and the judge's invariants."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]  # scipy ships no type hints

from drills import compare_metric, judge
from drills.canary import (
    FLAGGER_DEFAULTS,
    GroupWeight,
    JudgeConfig,
    MetricSpec,
    ThresholdCheck,
    check_thresholds,
)
from drills.canary.outliers import outlier_fences, remove_outliers
from drills.canary.shift import exact_rank, hodges_lehmann, u_counts

BASELINE = [100.0 + i for i in range(20)]


# --- the Hodges–Lehmann interval, checked independently ------------------------------------------


def inverted_interval(canary: Sequence[float], baseline: Sequence[float],
                      confidence: float) -> tuple[float, float]:
    """The interval by brute force: the closure of the shifts μ at which SciPy's two-sided
    Mann–Whitney test of (canary − μ, baseline) does not reject at 1 − confidence, probing
    one μ inside every gap between distinct pairwise differences (R's rule for exact vs normal,
    and its clamp of the interval to the range of the differences)."""
    combined = [*canary, *baseline]
    exact = len(canary) < 50 and len(baseline) < 50 and len(set(combined)) == len(combined)
    method = "exact" if exact else "asymptotic"
    values = sorted({c - b for c in canary for b in baseline})
    probes = [values[0] - 1.0] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1.0]

    def accepted(mu: float) -> bool:
        p = mannwhitneyu([c - mu for c in canary], baseline, alternative="two-sided", method=method).pvalue
        return bool(p > (1 - confidence) - 1e-12)

    accepted_gaps = [index for index, mu in enumerate(probes) if accepted(mu)]
    if not accepted_gaps:  # the test rejects everywhere off the differences: where it flips sides
        half = len(canary) * len(baseline) / 2
        flip = next(index for index, mu in enumerate(probes)
                    if mannwhitneyu([c - mu for c in canary], baseline, method=method).statistic < half)
        return values[flip - 1], values[flip - 1]
    first, last = accepted_gaps[0], accepted_gaps[-1]
    assert accepted_gaps == list(range(first, last + 1)), "the acceptance region is an interval"
    return values[max(first - 1, 0)], values[min(last, len(values) - 1)]


def brute_estimate(canary: Sequence[float], baseline: Sequence[float]) -> float:
    return statistics.median([c - b for c in canary for b in baseline])


# Integers (many ties: the normal approximation) and distinct quarter-integers (the exact path).
tied = st.lists(st.integers(0, 30).map(float), min_size=1, max_size=12)
distinct = st.lists(st.integers(-400, 400), min_size=2, max_size=24, unique=True).map(
    lambda values: [v / 4 for v in values])


@settings(max_examples=80, deadline=None)
@given(tied, tied)
def test_interval_with_ties_matches_the_inverted_test(canary: list[float], baseline: list[float]) -> None:
    shift = hodges_lehmann(canary, baseline, 0.98)
    assert (shift.lower, shift.upper) == inverted_interval(canary, baseline, 0.98)
    assert shift.estimate == brute_estimate(canary, baseline)


@settings(max_examples=80, deadline=None)
@given(distinct, st.integers(1, 23), st.sampled_from([0.8, 0.9, 0.95, 0.98]))
def test_exact_interval_matches_the_inverted_test(values: list[float], split: int, confidence: float) -> None:
    split = min(split, len(values) - 1)
    canary, baseline = values[:split], values[split:]
    shift = hodges_lehmann(canary, baseline, confidence)
    assert shift.exact
    assert (shift.lower, shift.upper) == inverted_interval(canary, baseline, confidence)
    assert shift.estimate == brute_estimate(canary, baseline)


def test_large_samples_use_the_normal_approximation_and_match_the_inverted_test() -> None:
    draw = random.Random(16)
    canary = [float(draw.randrange(10_000, 110_000)) for _ in range(52)]
    baseline = [draw.randrange(0, 100_000) + 0.5 for _ in range(50)]
    shift = hodges_lehmann(canary, baseline, 0.98)
    assert not shift.exact
    assert (shift.lower, shift.upper) == inverted_interval(canary, baseline, 0.98)
    assert shift.estimate == brute_estimate(canary, baseline)


def test_a_textbook_exact_interval() -> None:
    # Differences of (10, 20, 30) − (1, 2): 8 9 18 19 28 29; with 3 and 2 values the smallest
    # P(U ≤ u) is 1/10, so at 80 % the rank is 1 and the interval spans every difference.
    shift = hodges_lehmann([10, 20, 30], [1, 2], 0.8)
    assert (shift.estimate, shift.lower, shift.upper, shift.exact) == (18.5, 8.0, 29.0, True)
    assert exact_rank(3, 2, 0.8) == 1
    assert exact_rank(10, 10, 0.98) == 20  # R: qwilcox(0.01, 10, 10) = 20


@pytest.mark.parametrize(("m", "n"), [(1, 1), (2, 3), (5, 5), (7, 12), (20, 3)])
def test_u_distribution_counts_give_scipys_exact_p_values(m: int, n: int) -> None:
    counts = u_counts(m, n)
    assert sum(counts) == math.comb(m + n, m)
    assert counts == counts[::-1]
    canary = [2 * i + 0.5 for i in range(m)]
    baseline = [float(3 * j) for j in range(n)]
    u = sum(c > b for c in canary for b in baseline)
    smaller = min(u, m * n - u)
    p = min(1.0, 2 * sum(counts[: smaller + 1]) / math.comb(m + n, m))
    assert p == pytest.approx(mannwhitneyu(canary, baseline, method="exact").pvalue, rel=1e-12)


# --- p-values -------------------------------------------------------------------------------


@pytest.mark.parametrize(("baseline", "canary", "method"), [
    (BASELINE, [v + 3 for v in BASELINE], "asymptotic"),  # ties between the sides
    ([1.5, 2.25, 3.0, 7.0], [4.0, 5.5, 6.0, 8.5, 9.0], "exact"),
    ([1.0, 1.0, 2.0, 3.0], [2.0, 4.0, 4.0, 5.0], "asymptotic"),
    ([float(i) for i in range(60)], [i + 0.5 for i in range(55)], "asymptotic"),
])
def test_p_values_are_scipys(baseline: list[float], canary: list[float], method: str) -> None:
    verdict = compare_metric(baseline, canary, MetricSpec(name="m"))
    assert verdict.p_value == mannwhitneyu(canary, baseline, alternative="two-sided", method=method).pvalue


# --- classifications of crafted samples -------------------------------------------------------


@pytest.mark.parametrize(("offset", "direction", "expected"), [
    (50.0, "increase", "High"),   # every difference ≥ 31 > 25 % of the median 109.5 = 27.375
    (50.0, "either", "High"),
    (50.0, "decrease", "Pass"),   # an increase is harmless here
    (10.0, "increase", "Pass"),   # shifted, but inside the allowed band
    (-50.0, "increase", "Pass"),
    (-50.0, "decrease", "Low"),
    (-50.0, "either", "Low"),
    (0.0, "either", "Pass"),
])
def test_crafted_classifications(offset: float, direction: str, expected: str) -> None:
    canary = [v + offset for v in BASELINE]
    spec = MetricSpec(name="latency_ms", direction=direction)  # type: ignore[arg-type]
    verdict = compare_metric(BASELINE, canary, spec)
    assert verdict.classification == expected
    assert verdict.estimate == offset
    assert verdict.baseline_level == 109.5
    assert (verdict.baseline_count, verdict.canary_count) == (20, 20)


def test_the_classification_needs_the_whole_interval_beyond_the_band() -> None:
    # Shift 30 > 27.375, but the interval's lower end (30 − spread) reaches into the band: Pass;
    # with a 10 % band (10.95) the interval lies beyond it: High.
    canary = [v + 30 for v in BASELINE]
    shift = hodges_lehmann(canary, BASELINE)
    assert shift.lower < 27.375 < shift.estimate
    assert compare_metric(BASELINE, canary, MetricSpec(name="m")).classification == "Pass"
    assert compare_metric(BASELINE, canary, MetricSpec(name="m", effect_size_pct=10)).classification == "High"


def test_nan_is_dropped_and_an_empty_side_is_nodata() -> None:
    nan = float("nan")
    verdict = compare_metric([*BASELINE, nan], [v + 50 for v in BASELINE] + [nan, nan], MetricSpec(name="m"))
    assert (verdict.classification, verdict.baseline_count, verdict.canary_count) == ("High", 20, 20)
    empty = compare_metric(BASELINE, [nan, nan], MetricSpec(name="m", critical=True))
    assert empty.model_dump() == {
        "name": "m", "classification": "NoData", "estimate": None, "lower": None, "upper": None, "p_value": None,
        "baseline_level": 109.5, "baseline_count": 20, "canary_count": 0, "critical": True, "group": "default"}
    assert compare_metric([], [1.0], MetricSpec(name="m")).classification == "NoData"


def test_infinite_values_are_an_error() -> None:
    with pytest.raises(ValueError, match="metric 'm': the canary sample has an infinite value"):
        compare_metric([1.0], [math.inf], MetricSpec(name="m"))


def test_outlier_fences_are_kayentas() -> None:
    values = [float(v) for v in range(1, 11)] + [1000.0]
    # Q1 3.5, Q3 8.5, IQR 5: Tukey's fences −11.5 and 23.5, widened to the 1st and 99th percentiles (1.1, 901).
    assert outlier_fences(values) == pytest.approx((-11.5, 901.0))
    assert remove_outliers(values) == [float(v) for v in range(1, 11)]
    assert remove_outliers([5.0, 5.0, 5.0]) == [5.0, 5.0, 5.0]
    spec = MetricSpec(name="m", remove_outliers=True)
    verdict = compare_metric(values, [v + 0.5 for v in range(1, 11)], spec)
    assert (verdict.baseline_count, verdict.canary_count, verdict.baseline_level) == (10, 10, 5.5)


def test_identical_samples_pass() -> None:
    verdict = compare_metric([7.0] * 5, [7.0] * 6, MetricSpec(name="m", direction="either", effect_size_pct=0))
    assert (verdict.classification, verdict.estimate, verdict.lower, verdict.upper) == ("Pass", 0.0, 0.0, 0.0)


# --- scoring ---------------------------------------------------------------------------------


def samples(**offsets: float) -> dict[str, tuple[list[float], list[float]]]:
    """Per metric, the baseline and the baseline shifted by the offset (50 = High, 0 = Pass)."""
    return {name: (BASELINE, [v + offset for v in BASELINE]) for name, offset in offsets.items()}


def test_groups_share_the_unweighted_rest() -> None:
    config = JudgeConfig(metrics=[MetricSpec(name="latency", group="latency"),
                                  MetricSpec(name="errors", group="errors"), MetricSpec(name="retries")],
                         groups=[GroupWeight(name="latency", weight=60)])
    assert config.group_weights() == {"latency": 60.0, "errors": 20.0, "default": 20.0}
    result = judge(samples(latency=50, errors=0, retries=0), config)
    assert (result.score, result.decision) == (40.0, "Failed")
    assert result.group_scores == {"latency": 0.0, "errors": 100.0, "default": 100.0}
    assert result.reason.startswith("Failed (< marginal 75): score 40: latency High (shift +50")
    assert judge(samples(latency=0, errors=50, retries=0), config).score == 80.0


def test_thresholds_decide() -> None:
    config = JudgeConfig(metrics=[MetricSpec(name=f"m{i}") for i in range(4)])
    assert judge(samples(m0=0, m1=0, m2=0, m3=0), config).model_dump(include={"score", "decision", "reason"}) == {
        "score": 100.0, "decision": "Successful", "reason": "Successful (pass ≥ 95): score 100: every metric passed"}
    marginal = judge(samples(m0=50, m1=0, m2=0, m3=0), config)
    assert (marginal.score, marginal.decision) == (75.0, "Inconclusive")
    assert marginal.reason.startswith("Inconclusive (between marginal 75 and pass 95): score 75: m0 High")
    assert judge(samples(m0=50, m1=50, m2=0, m3=0), config).decision == "Failed"


def test_a_critical_metric_that_is_not_pass_zeroes_the_score() -> None:
    config = JudgeConfig(metrics=[MetricSpec(name="errors", critical=True),
                                  *(MetricSpec(name=f"m{i}") for i in range(9))])
    result = judge(samples(errors=50, **{f"m{i}": 0.0 for i in range(9)}), config)
    assert (result.score, result.decision, result.group_scores) == (0.0, "Failed", {"default": 90.0})
    assert result.reason.startswith("Failed (< marginal 75): score 0: critical metric errors High")
    missing = judge(samples(**{f"m{i}": 0.0 for i in range(9)}), config)  # no samples for the critical metric
    assert (missing.score, missing.decision, missing.metrics[0].classification) == (0.0, "Failed", "NoData")


def test_nothing_to_judge_is_inconclusive() -> None:
    result = judge({"a": ([], [1.0])}, JudgeConfig(metrics=[MetricSpec(name="a"), MetricSpec(name="b", critical=True)]))
    assert (result.score, result.decision) == (0.0, "Inconclusive")
    assert result.reason == "no metric had data on both sides: nothing to judge"


def test_samples_of_an_unnamed_metric_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"samples for metrics the judge config does not name: \['typo'\]"):
        judge(samples(typo=0), JudgeConfig(metrics=[MetricSpec(name="m")]))


@pytest.mark.parametrize(("fields", "message"), [
    ({"metrics": [{"name": "a"}, {"name": "a"}]}, "metric names must be unique, found ['a']"),
    ({"metrics": [{"name": "a"}], "groups": [{"name": "x", "weight": 10}]}, "weighted groups ['x'] have no metric"),
    ({"metrics": [{"name": "a", "group": "x"}, {"name": "b"}],
      "groups": [{"name": "x", "weight": 70}, {"name": "default", "weight": 40}]}, "at most 100, found 110"),
    ({"metrics": [{"name": "a", "group": "x"}], "groups": [{"name": "x", "weight": 70}]},
     "must add up to 100, found 70"),
    ({"metrics": [{"name": "a"}], "pass_threshold": 50}, "marginal_threshold must not exceed pass_threshold"),
    ({"metrics": [{"name": "a", "colour": "red"}]}, "Extra inputs are not permitted"),
])
def test_bad_configs_are_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        JudgeConfig.model_validate(fields)


# --- invariants ------------------------------------------------------------------------------

sample = st.lists(st.integers(0, 200).map(float), min_size=1, max_size=15)


@settings(max_examples=60, deadline=None)
@given(sample, sample, st.integers(-1000, 1000))
def test_a_common_shift_moves_nothing_but_the_level(baseline: list[float], canary: list[float], offset: int) -> None:
    # The band is relative to the baseline's level, so with a band of 0 the classification is
    # shift-invariant; the interval, estimate and p-value are for any band.
    spec = MetricSpec(name="m", direction="either", effect_size_pct=0)
    before = compare_metric(baseline, canary, spec)
    after = compare_metric([v + offset for v in baseline], [v + offset for v in canary], spec)
    assert after.model_dump(exclude={"baseline_level"}) == before.model_dump(exclude={"baseline_level"})


@settings(max_examples=60, deadline=None)
@given(sample, sample, st.sampled_from([0.0, 10.0, 25.0]), st.sampled_from([0.25, 2.0, 8.0]))
def test_classification_is_scale_invariant(baseline: list[float], canary: list[float], band: float,
                                           scale: float) -> None:
    spec = MetricSpec(name="m", direction="either", effect_size_pct=band)
    scaled = compare_metric([v * scale for v in baseline], [v * scale for v in canary], spec)
    assert scaled.classification == compare_metric(baseline, canary, spec).classification


@settings(max_examples=60, deadline=None)
@given(sample, sample)
def test_swapping_the_sides_flips_high_and_low(baseline: list[float], canary: list[float]) -> None:
    spec = MetricSpec(name="m", direction="either", effect_size_pct=0)
    forward, backward = compare_metric(baseline, canary, spec), compare_metric(canary, baseline, spec)
    flipped = {"High": "Low", "Low": "High", "Pass": "Pass"}
    assert backward.classification == flipped[forward.classification]
    assert (backward.lower, backward.upper) == (-(forward.upper or 0.0), -(forward.lower or 0.0))
    assert backward.p_value == forward.p_value


metric_case = st.tuples(st.integers(-60, 60), st.sampled_from(["a", "b", None]), st.booleans(),
                        st.sampled_from(["increase", "decrease", "either"]), st.booleans())


@settings(max_examples=60, deadline=None)
@given(st.lists(metric_case, min_size=1, max_size=6), st.sampled_from([[], [("a", 30.0)], [("a", 50.0), ("b", 20.0)]]))
def test_the_score_is_a_percentage_and_critical_failures_zero_it(
        cases: list[tuple[int, str | None, bool, str, bool]], weights: list[tuple[str, float]]) -> None:
    specs = [MetricSpec(name=f"m{i}", group=group, critical=critical, direction=direction)  # type: ignore[arg-type]
             for i, (_, group, critical, direction, _) in enumerate(cases)]
    used = {spec.group_name for spec in specs}
    groups = [GroupWeight(name=name, weight=weight) for name, weight in weights if name in used]
    if used <= {group.name for group in groups} and sum(group.weight for group in groups) != 100:
        groups = []
    config = JudgeConfig(metrics=specs, groups=groups)
    data = {f"m{i}": (BASELINE, [] if empty else [v + offset for v in BASELINE])
            for i, (offset, _, _, _, empty) in enumerate(cases)}
    result = judge(data, config)
    assert 0.0 <= result.score <= 100.0
    if any(v.critical and v.classification != "Pass" for v in result.metrics):
        assert result.score == 0.0
    if result.decision == "Successful":
        assert result.score >= config.pass_threshold


# --- Flagger-style thresholds ---------------------------------------------------------------


def test_flagger_threshold_checks() -> None:
    verdicts = check_thresholds({"request_success_rate_pct": 98.5, "request_duration_p99_ms": 420.0}, FLAGGER_DEFAULTS)
    assert [(v.passed, v.reason) for v in verdicts] == [
        (False, "request_success_rate_pct 98.5 < min 99"), (True, "request_duration_p99_ms 420 ≤ 500")]
    both = ThresholdCheck(metric="x", min=1, max=2)
    assert [(v.passed, v.value, v.reason) for v in check_thresholds({"x": 3.0, "y": float("nan")}, [
        both, ThresholdCheck(metric="y", max=1), ThresholdCheck(metric="z", min=0)])] == [
        (False, 3.0, "x 3 > max 2"), (False, None, "y: no data"), (False, None, "z: no data")]
    assert check_thresholds({"x": 1.5}, [both])[0].reason == "x 1.5 ≥ 1 and ≤ 2"
    with pytest.raises(ValidationError, match="needs a min, a max or both"):
        ThresholdCheck(metric="x")
