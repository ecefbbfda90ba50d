"""``report.md``: the rollout's decision, rollback and blast radius, then each interval's
verdict, for a person to read beside ``chart.png``."""

from __future__ import annotations

from drills.canary.result import CanaryResult


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def report_text(result: CanaryResult) -> str:
    """The report as Markdown."""
    rollback, blast = result.rollback, result.blast_radius
    lines = [f"# Canary rollout {result.rollout['name']}: {result.decision}", "",
             f"- change: {result.change}",
             f"- world: scenario `{result.scenario}`, seed {result.seed}, {result.virtual_seconds:g} virtual seconds",
             f"- decision: **{result.decision}**: {result.reason}"]
    if rollback is not None and rollback.seconds is not None:
        fit = "within" if rollback.completed_within_5_minutes else "NOT within"
        lines.append(f"- rollback: {rollback.seconds:g} s from the first harmful interval "
                     f"(t={rollback.first_harmful_at:g} s) to rollback complete (t={rollback.completed_at:g} s); "
                     f"{rollback.decision_to_complete_seconds:g} s "
                     f"after the decision; {fit} the {rollback.limit_seconds:g} s limit")
    else:
        lines.append("- rollback: none")
    lines.append(f"- blast radius: {blast.intents} intents from {len(blast.tenants)} tenants saw the change "
                 f"({', '.join(blast.tenants) or 'none'}); {blast.failed} failed, {blast.dead_lettered} dead-lettered; "
                 f"{blast.shadowed} more only mirrored to the shadow (answers discarded)")
    lines += ["", "![baseline and canary per metric over time, with the step weights](chart.png)", "",
              "## Intervals", "",
              "| # | step | exposure % | baseline intents | canary intents | median ms (base / canary) | "
              "p99 ms (base / canary) | score | decision |",
              "|---|---|---|---|---|---|---|---|---|"]
    for verdict in result.intervals:
        lines.append(f"| {verdict.index} | {verdict.step} {verdict.action} | {verdict.exposure_pct:.2f} | "
                     f"{verdict.baseline.intents} | {verdict.canary.intents} | "
                     f"{_ms(verdict.baseline.latency_median_ms)} / {_ms(verdict.canary.latency_median_ms)} | "
                     f"{_ms(verdict.baseline.latency_p99_ms)} / {_ms(verdict.canary.latency_p99_ms)} | "
                     f"{verdict.judge.score:g} | {verdict.decision} |")
    lines += ["", "## Why", ""]
    for verdict in result.intervals:
        lines.append(f"- interval {verdict.index} (t={verdict.start:g}–{verdict.end:g} s): {verdict.reason}")
    lines += ["", "Shadow intervals compare each mirrored intent's own answering time with the shadow's "
              "(the same draws); live intervals compare the delivery latency of intents the new version "
              "answered with those of tenants outside the cohort.", ""]
    return "\n".join(lines)
