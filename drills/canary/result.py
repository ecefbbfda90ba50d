"""What a canary rollout reports: every interval's verdict, the decision, the rollback and
the blast radius; ``result.json`` is :class:`CanaryResult` as JSON."""

from __future__ import annotations

from typing import Any, Literal

from drills.canary.judge import Decision, JudgeResult
from drills.canary.thresholds import ThresholdVerdict
from simulator.kernel.fields import Model

#: What a step did to the change's exposure.
Action = Literal["shadow", "canary", "pause"]


class CohortFigures(Model):
    """One cohort in one interval, as the chart and the tables show it."""

    intents: int
    errors: int
    latency_median_ms: float | None
    latency_p99_ms: float | None
    error_rate_pct: float | None
    refused_sends: int = 0


class ChartPoint(Model):
    """Both cohorts over one short window (the chart's resolution), and the exposure then."""

    start: float
    end: float
    phase: Literal["shadow", "canary", "pause", "rollback"]
    exposure_pct: float
    baseline: CohortFigures
    canary: CohortFigures


class IntervalVerdict(Model):
    """One analysis interval: the step it belongs to, the exposure, both cohorts'
    figures, the judge's result, the threshold checks and the interval's decision."""

    index: int
    step: int
    action: Action
    start: float
    end: float
    weight_pct: float
    exposure_pct: float
    tenants: list[str]
    baseline: CohortFigures
    canary: CohortFigures
    judge: JudgeResult
    thresholds: list[ThresholdVerdict]
    decision: Decision
    harmful: bool
    reason: str


class RollbackReport(Model):
    """How the rollback went: when the first harmful interval began, when the decision
    was made, when the old version was back and the last intent the new one answered
    settled; ``seconds`` from the first harmful interval to that, and whether it fit in
    the rollout's limit (5 minutes unless the file says otherwise)."""

    happened: bool
    first_harmful_at: float | None = None
    decided_at: float | None = None
    completed_at: float | None = None
    seconds: float | None = None
    decision_to_complete_seconds: float | None = None
    limit_seconds: float
    completed_within_5_minutes: bool


class BlastRadius(Model):
    """Who saw the change: intents the new version answered live and the tenants that sent
    them, how many of those intents failed or were dead-lettered; intents only shadowed
    (answers discarded) are counted apart."""

    intents: int
    tenants: list[str]
    failed: int
    dead_lettered: int
    shadowed: int


class CanaryResult(Model):
    """``result.json``: the resolved rollout, every interval, the decision and its consequences
    (``rollback`` is None when the rollout did not roll back)."""

    status: Literal["completed", "interrupted"]
    interrupted_by: str | None = None
    rollout_file: str
    seed: int
    rollout: dict[str, Any]
    scenario: str
    change: str
    steps: list[dict[str, Any]]
    shadow_period: dict[str, Any] | None
    tenant_shares_pct: dict[str, float]
    intervals: list[IntervalVerdict]
    chart: list[ChartPoint]
    decision: Decision
    reason: str
    promoted: bool
    rollback: RollbackReport | None
    blast_radius: BlastRadius
    virtual_seconds: float
    files: list[str]
