"""Running a canary rollout in one world: warm up, then each step's analysis intervals,
judged as they end; promote, pause on Inconclusive, roll back on Failed.

Baseline and canary cohorts share the world and its random streams: the new version reuses
the agent's own draws (:mod:`simulator.changes`), so the cohorts differ by the change and
by which tenants they are, not by luck of the draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from drills.canary.cohorts import cohort_order, exposure_pct, grow_cohort, traffic_shares
from drills.canary.judge import Decision, JudgeResult, judge
from drills.canary.result import (
    BlastRadius, CanaryResult, ChartPoint, CohortFigures, IntervalVerdict, RollbackReport,
)
from drills.canary.rollout import CanaryStep, PauseStep, Rollout, ShadowStep
from drills.canary.samples import (
    CohortSample, IntervalSamples, add_attempts, add_refusals, live_samples, shadow_samples,
)
from drills.canary.thresholds import check_thresholds
from simulator import ShadowAnswer, StagedChange, World
from simulator.world import IntentPath

#: How often, in virtual seconds, a rollback checks whether the new version's last intent settled.
DRAIN_STEP = 1.0
#: The longest a rollback waits for the new version's intents to settle.
DRAIN_LIMIT = 3600.0
#: The chart's resolution: the longest window one chart point covers, in virtual seconds.
CHART_WINDOW = 30.0
#: Final statuses of a directory row or a bus row.
SETTLED = frozenset({"acked", "failed", "delivered", "dead_letter"})


@dataclass
class RolloutRun:
    """A rollout in progress: the world, the staged change, what was exposed and judged."""

    rollout: Rollout
    world: World
    change: StagedChange
    shares: dict[str, float]
    order: list[str]
    intervals: list[IntervalVerdict] = field(default_factory=list)
    served: set[str] = field(default_factory=set)
    served_seen: int = 0
    shadow_answers: list[tuple[float, ShadowAnswer]] = field(default_factory=list)
    shadowed: int = 0
    shadowed_nonces: set[str] = field(default_factory=set)
    exposed: set[str] = field(default_factory=set)
    failed: int = 0
    counted_until: float = 0.0
    cohort: list[str] = field(default_factory=list)
    weight: float = 0.0
    resolved_steps: list[dict[str, Any]] = field(default_factory=list)
    chart: list[ChartPoint] = field(default_factory=list)
    decision: Decision | None = None
    reason: str = ""
    rollback: RollbackReport | None = None
    #: Where the change's intents are held (:func:`intent_path`).
    path: IntentPath = "directory"
    #: ``(time, sender)`` of each send to the agent a rate limiter refused in this interval.
    refusals: list[tuple[float, str]] = field(default_factory=list)


def start(rollout: Rollout, seed: int) -> RolloutRun:
    """Build the world and stage the change, exposed to nobody yet."""
    world = World(rollout.scenario, seed=seed)
    spec = rollout.rollout
    change = world.stage_change(spec.change)
    shares = traffic_shares(rollout.scenario, spec.change.agent)
    run = RolloutRun(rollout, world, change, shares, cohort_order(shares, world.seed))

    def mirrored(answer: ShadowAnswer) -> None:
        run.shadow_answers.append((world.now, answer))
        run.shadowed += 1
        run.shadowed_nonces.add(answer.nonce)
    change.on_shadow(mirrored)
    run.path = intent_path(rollout)
    agent = spec.change.agent

    def refused(time: float, sender: str, recipient: str, _limiter: str) -> None:
        if recipient == agent:
            run.refusals.append((time, sender))
    world.watch_rate_limits(refused)
    return run


def intent_path(rollout: Rollout) -> IntentPath:
    """Where the change's intents are held: a retry policy and a rate limit act on the
    bus's rows, an agent version on the directory's; a Shield config on the bus's when
    the agent's traffic reaches its trust gate through the bus only, else the directory's."""
    change = rollout.rollout.change
    if change.kind in ("retry_policy", "rate_limit"):
        return "bus"
    if change.kind == "shield":
        vias = {route.via for route in rollout.scenario.traffic.routes if route.recipient == change.agent}
        return "bus" if "bus" in vias and "http" not in vias else "directory"
    return "directory"


def _path(run: RolloutRun) -> IntentPath:
    return run.path


def _figures(sample: CohortSample) -> CohortFigures:
    rates = sample.success_rate_pct()
    return CohortFigures(intents=sample.intents, errors=sample.errors, latency_median_ms=sample.median_ms(),
                         latency_p99_ms=sample.p99_ms(), error_rate_pct=None if rates is None else 100.0 - rates,
                         refused_sends=sample.refused_sends)


def _judge(run: RolloutRun, samples: IntervalSamples) -> tuple[JudgeResult, Any, Decision, bool, str]:
    """The judge's result, the threshold verdicts, the interval's decision, whether it was
    harmful (a metric High/Low, or a threshold broken with data) and why."""
    analysis = run.rollout.rollout.analysis
    enough = [side if side.intents >= analysis.min_samples else CohortSample()
              for side in (samples.baseline, samples.canary)]
    base, new = enough
    tried = [side.attempts if len(side.attempts) >= analysis.min_samples else [] for side in (samples.baseline,
                                                                                            samples.canary)]
    values = {"latency_ms": (base.latency_ms, new.latency_ms),
              "error_rate_pct": (base.error_rates(), new.error_rates()), "attempts_per_intent": (tried[0], tried[1]),
              "refused_sends": (samples.baseline.refused_counts(), samples.canary.refused_counts())}
    result = judge({metric.name: values[metric.name] for metric in analysis.judge.metrics}, analysis.judge)
    thresholds = check_thresholds({"request_success_rate_pct": new.success_rate_pct(),
                                   "request_duration_p99_ms": new.p99_ms()}, analysis.thresholds)
    broken = [verdict for verdict in thresholds if not verdict.passed and verdict.value is not None]
    harmful = any(metric.classification in ("High", "Low") for metric in result.metrics) or bool(broken)
    decision: Decision = result.decision
    reason = result.reason
    if broken:
        checks = "; ".join(verdict.reason for verdict in broken)
        reason = (f"{result.reason}; threshold {checks}" if decision == "Failed"
                  else f"Failed: threshold {checks} (judge: {result.reason})")
        decision = "Failed"
    elif decision == "Successful" and any(not verdict.passed for verdict in thresholds):
        decision = "Inconclusive"
        reason = "Inconclusive: threshold checks had no data (judge: " + result.reason + ")"
    return result, thresholds, decision, harmful, reason


def _windows(begin: float, end: float) -> list[tuple[float, float]]:
    edges = [begin + CHART_WINDOW * index for index in range(int((end - begin) // CHART_WINDOW) + 1)]
    if edges[-1] < end:
        edges.append(end)
    return list(zip(edges, edges[1:]))


def _chart_live(run: RolloutRun, begin: float, end: float, phase: Any, exposure: float) -> None:
    """Add the chart points of ``[begin, end)`` from the intents settled then."""
    spec = run.rollout.rollout
    for low, high in _windows(begin, end):
        settled = run.world.settled_intents(low, high, recipient=spec.change.agent, path=_path(run))
        samples = live_samples(settled, run.served, frozenset(run.cohort), low, spec.analysis.bucket)
        run.chart.append(ChartPoint(start=low, end=high, phase=phase, exposure_pct=exposure,
                                    baseline=_figures(samples.baseline), canary=_figures(samples.canary)))


def _chart_shadow(run: RolloutRun, begin: float, end: float, exposure: float) -> None:
    """Add the chart points of a shadow interval from its mirrored answers."""
    bucket = run.rollout.rollout.analysis.bucket
    for low, high in _windows(begin, end):
        answers = [(time, answer) for time, answer in run.shadow_answers if low <= time < high]
        samples = shadow_samples(answers, low, bucket)
        run.chart.append(ChartPoint(start=low, end=high, phase="shadow", exposure_pct=exposure,
                                    baseline=_figures(samples.baseline), canary=_figures(samples.canary)))


def _advance(run: RolloutRun, until: float, stop: Callable[[], None]) -> None:
    """Run the world to ``until`` in slices of at most 60 virtual seconds, checking for a stop."""
    world = run.world
    while world.now < until:
        world.run(until=min(until, world.now + 60.0), steps=1)
        stop()


def _note_served(run: RolloutRun) -> None:
    fresh = run.change.served_since(run.served_seen)
    run.served.update(fresh)
    run.served_seen += len(fresh)


def run_steps(run: RolloutRun, stop: Callable[[], None]) -> None:
    """Warm up, then run every step's intervals until the rollout is promoted, paused or
    rolled back; ``stop`` is called between slices and may raise to interrupt."""
    spec = run.rollout.rollout
    world, interval = run.world, spec.analysis.interval
    _advance(run, spec.start, stop)
    everyone = sorted(run.shares)
    for number, step in enumerate(spec.steps):
        resolved: dict[str, Any] = {"action": step.action, "duration": step.duration, "start": world.now,
                                    "max_tenant_exposure_pct": spec.max_tenant_exposure_pct}
        if isinstance(step, ShadowStep):
            run.change.expose(everyone, "shadow")
            resolved.update(weight=0.0, exposure_pct=0.0, tenants=everyone)
        elif isinstance(step, CanaryStep):
            if step.tenants is not None:
                run.cohort = list(dict.fromkeys(run.cohort + step.tenants))
            else:
                run.cohort = grow_cohort(run.cohort, run.order, run.shares, step.weight)
            run.weight = step.weight
            run.change.expose(run.cohort, "live")
            resolved.update(weight=step.weight, exposure_pct=round(exposure_pct(run.cohort, run.shares), 4),
                            tenants=list(run.cohort))
        else:
            assert isinstance(step, PauseStep)
            resolved.update(weight=run.weight, exposure_pct=round(exposure_pct(run.cohort, run.shares), 4),
                            tenants=list(run.cohort))
        run.resolved_steps.append(resolved)
        count = max(1, int(step.duration // interval))
        for _ in range(count):
            begin = world.now
            run.shadow_answers.clear()
            run.refusals.clear()
            _advance(run, begin + interval, stop)
            _note_served(run)
            exposure = 100.0 if isinstance(step, ShadowStep) else round(exposure_pct(run.cohort, run.shares), 4)
            if isinstance(step, ShadowStep):
                samples = shadow_samples(run.shadow_answers, begin, spec.analysis.bucket)
                tenants = everyone
                _chart_shadow(run, begin, world.now, 0.0)
            else:
                settled = world.settled_intents(begin, world.now, recipient=spec.change.agent, path=_path(run))
                samples = live_samples(settled, run.served, frozenset(run.cohort), begin, spec.analysis.bucket)
                if _path(run) == "bus":
                    add_attempts(samples, world.bus_attempts(begin, world.now, spec.change.agent), run.served,
                                 frozenset(run.cohort))
                add_refusals(samples, run.refusals, world.accepted_sends(begin, world.now, spec.change.agent,
                                                                         _path(run)),
                             frozenset(run.cohort), begin, spec.analysis.bucket)
                tenants = list(run.cohort)
                _count_canary(run, samples.canary, world.now)
                _chart_live(run, begin, world.now, step.action, exposure)
            result, thresholds, decision, harmful, reason = _judge(run, samples)
            run.intervals.append(IntervalVerdict(
                index=len(run.intervals), step=number, action=step.action, start=begin, end=world.now,
                weight_pct=100.0 if isinstance(step, ShadowStep) else run.weight, exposure_pct=exposure,
                tenants=tenants, baseline=_figures(samples.baseline), canary=_figures(samples.canary),
                judge=result, thresholds=thresholds, decision=decision, harmful=harmful, reason=reason))
            if decision == "Failed":
                run.decision = "Failed"
                run.reason = f"step {number} ({step.action}), interval {len(run.intervals) - 1}: {reason}"
                if spec.rollback.automatic:
                    roll_back(run, stop)
                return
            if decision == "Inconclusive":
                run.decision = "Inconclusive"
                run.reason = (f"step {number} ({step.action}), interval {len(run.intervals) - 1}: {reason}; "
                              f"the rollout is paused at {run.weight:g} % for a human")
                return
        if isinstance(step, ShadowStep):
            run.change.expose(run.cohort, "live" if run.cohort else "off")
    run.change.expose(everyone, "live")
    run.decision = "Successful"
    run.reason = f"every interval of {len(spec.steps)} steps passed: promoted to every tenant"


def roll_back(run: RolloutRun, stop: Callable[[], None]) -> None:
    """Put the old version back after the rollout's redeploy time, then wait until every
    intent the new version answered has settled; record the times."""
    spec, world = run.rollout.rollout, run.world
    decided = world.now
    _advance(run, decided + spec.rollback.redeploy, stop)
    exposure = round(exposure_pct(run.cohort, run.shares), 4)
    _note_served(run)
    _chart_live(run, decided, world.now, "rollback", exposure)
    run.change.roll_back()
    waited = 0.0
    while _unsettled(run) and waited < DRAIN_LIMIT:
        _advance(run, world.now + DRAIN_STEP, stop)
        waited += DRAIN_STEP
    harmful = next((verdict.start for verdict in run.intervals if verdict.harmful), run.intervals[-1].start)
    seconds = world.now - harmful
    run.rollback = RollbackReport(happened=True, first_harmful_at=harmful, decided_at=decided, completed_at=world.now,
                                  seconds=round(seconds, 6), decision_to_complete_seconds=round(world.now - decided, 6),
                                  limit_seconds=spec.rollback.limit,
                                  completed_within_5_minutes=seconds <= spec.rollback.limit)


def _unsettled(run: RolloutRun) -> bool:
    for nonce in run.served:
        state = run.world.intent(nonce, _path(run))
        if state is not None and state.status not in SETTLED:
            return True
    return False


def _count_canary(run: RolloutRun, canary: CohortSample, until: float) -> None:
    """Add the tenants and errors of intents the new version answered that settled up to ``until``."""
    run.exposed.update(tenant for tenant, _bucket in canary.buckets)
    run.failed += canary.errors
    run.counted_until = until


def blast_radius(run: RolloutRun) -> BlastRadius:
    """Who saw the change, and what became of their intents: counted as they settle, so
    retention compacting old rows loses nothing."""
    _note_served(run)
    world, agent = run.world, run.rollout.rollout.change.agent
    late = [intent for intent in world.settled_intents(run.counted_until, world.now, recipient=agent, path=_path(run))
            if intent.nonce in run.served]
    if late:
        rest = live_samples(late, run.served, frozenset(), run.counted_until, run.rollout.rollout.analysis.bucket)
        _count_canary(run, rest.canary, world.now)
    dead = 0
    for nonce in run.served:
        message = world.intent(nonce, "bus")
        dead += message is not None and message.status == "dead_letter"
    return BlastRadius(intents=len(run.served), tenants=sorted(run.exposed), failed=run.failed,
                       dead_lettered=dead, shadowed=run.shadowed)


def result_of(run: RolloutRun, files: list[str], interrupted: str | None = None) -> CanaryResult:
    """``result.json`` for the rollout as it stands."""
    spec = run.rollout.rollout
    shadow = next((step for step in run.resolved_steps if step["action"] == "shadow"), None)
    declared = next((step for step in spec.steps if isinstance(step, ShadowStep)), None)
    resolved = spec.model_dump(mode="json", by_alias=True)
    # What a readiness gate reads off the rollout: the shadow period's length (None without one).
    resolved["shadow_period"] = sum(step.duration for step in spec.steps if isinstance(step, ShadowStep)) or None
    return CanaryResult(
        status="completed" if interrupted is None else "interrupted", interrupted_by=interrupted,
        rollout_file=run.rollout.file, seed=run.world.seed, rollout=resolved,
        scenario=run.rollout.scenario.name, change=spec.change.describe(), steps=run.resolved_steps,
        shadow_period=None if declared is None else {"duration": declared.duration,
                                                     "ran": shadow is not None, "mirrored_intents": run.shadowed},
        tenant_shares_pct={tenant: round(share, 4) for tenant, share in run.shares.items()},
        intervals=run.intervals, chart=run.chart, decision=run.decision or "Inconclusive",
        reason=run.reason or "interrupted before a decision", promoted=run.decision == "Successful",
        rollback=run.rollback, blast_radius=blast_radius(run), virtual_seconds=run.world.now, files=files)
