"""The rollout's chart (matplotlib, Agg, deterministic PNG): per metric, the baseline and
canary cohorts over time in windows of 30 virtual seconds, with the exposure (the step
weights) beneath, each analysis interval's decision marked at its end, the shadow period
and the rollback shaded."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from drills.canary.result import CanaryResult

DECISION_COLORS = {"Successful": "tab:green", "Inconclusive": "tab:orange", "Failed": "tab:red"}
COHORT_COLORS = {"baseline": "tab:blue", "canary": "tab:purple"}
SERIES = (("median latency (ms)", "latency_median_ms"), ("p99 latency (ms)", "latency_p99_ms"),
          ("error rate (%)", "error_rate_pct"))


def write_chart(result: CanaryResult, path: Path) -> None:
    """Draw the rollout's chart to ``path`` (PNG)."""
    figure = Figure(figsize=(10.0, 8.5), dpi=100)
    *metric_axes, weights = figure.subplots(4, 1, sharex=True, height_ratios=[3, 3, 2.5, 2])
    points = result.chart
    for axes, (label, field) in zip(metric_axes, SERIES):
        for cohort, color in COHORT_COLORS.items():
            shown = [((point.start + point.end) / 120, getattr(getattr(point, cohort), field)) for point in points]
            shown = [(x, y) for x, y in shown if y is not None]
            axes.plot([x for x, _ in shown], [y for _, y in shown], marker=".", color=color,
                      label=f"{cohort} (shadow: the mirrored answers)" if cohort == "canary" else cohort)
        axes.set_ylabel(label, fontsize=9)
        axes.grid(True, alpha=0.3)
    latency, p99 = metric_axes[0], metric_axes[1]
    for check in result.rollout["analysis"]["thresholds"]:
        if check["metric"] == "request_duration_p99_ms" and check["max"] is not None:
            line = p99.axhline(check["max"], color="gray", linestyle="--", linewidth=0.8, label="Flagger threshold")
            p99.legend(handles=[line], fontsize=8, loc="upper left")
    for verdict in result.intervals:
        for axes in metric_axes:
            axes.axvline(verdict.end / 60, color=DECISION_COLORS[verdict.decision], linewidth=0.6, alpha=0.5)
        latency.annotate(verdict.decision, (verdict.end / 60, 1.0), xycoords=("data", "axes fraction"),
                         ha="right", va="bottom", color=DECISION_COLORS[verdict.decision], fontsize=7)
    latency.legend(fontsize=8, loc="upper left")
    xs: list[float] = []
    ys: list[float] = []
    for point in points:
        xs += [point.start / 60, point.end / 60]
        ys += [point.exposure_pct] * 2
    rollback = result.rollback
    if rollback is not None and rollback.completed_at is not None and xs:
        xs += [xs[-1], rollback.completed_at / 60]
        ys += [0.0, 0.0]
    weights.fill_between(xs, ys, color="tab:purple", alpha=0.3, linewidth=0)
    weights.plot(xs, ys, color="tab:purple", linewidth=1)
    for number, step in enumerate(result.steps):
        begin = step["start"] / 60
        text = "shadow" if step["action"] == "shadow" else \
            f"pause {step['weight']:g}%" if step["action"] == "pause" else f"{step['weight']:g}%"
        if points and step["start"] < points[-1].end:
            weights.annotate(f"{number}: {text}", (begin, 1.0), xycoords=("data", "axes fraction"),
                             xytext=(2, -10), textcoords="offset points", fontsize=7)
        if step["action"] == "shadow":
            weights.axvspan(begin, (step["start"] + step["duration"]) / 60, color="tab:gray", alpha=0.25, linewidth=0)
    if rollback is not None and rollback.decided_at is not None and rollback.completed_at is not None:
        for axes in (*metric_axes, weights):
            axes.axvspan(rollback.decided_at / 60, rollback.completed_at / 60, color="tab:red", alpha=0.12,
                         linewidth=0)
    weights.set_ylabel("exposure (%)", fontsize=9)
    weights.set_xlabel("virtual time (minutes); gray: shadow period, red: rollback")
    weights.set_ylim(0, max([*ys, 5.0]) * 1.25)
    weights.grid(True, alpha=0.3)
    figure.suptitle(f"{result.rollout['name']}: {result.decision} — baseline vs canary, 30 s windows", fontsize=11)
    figure.tight_layout()
    temporary = path.with_name(f".{path.name}.tmp")
    figure.savefig(temporary, format="png", metadata={"Software": None})
    os.replace(temporary, path)
