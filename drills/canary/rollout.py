"""Rollout files: the pydantic schema of a canary rollout, and reading one with every
problem on one line.

A rollout names the world (a scenario), the change it ships (:mod:`simulator.changes`),
its steps (a shadow period, canary steps exposing the change to a share of the tenants'
traffic, pauses), how each analysis interval is judged (Kayenta's judge and Flagger's
threshold checks, :mod:`drills.canary.judge`) and how a failed rollout is rolled back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field, ValidationError, model_validator

from drills.canary.judge import GroupWeight, JudgeConfig, MetricSpec
from drills.canary.thresholds import FLAGGER_DEFAULTS, ThresholdCheck
from drills.drillfile.builtin import SCENARIOS
from simulator import Change, InputError, Problem, Scenario, load_scenario, tenant_of
from simulator.kernel.fields import Count, Model, NonEmpty
from simulator.kernel.problems import validation_problems
from simulator.kernel.units import Duration, PositiveDuration
from simulator.kernel.yamlfile import read_yaml_mapping
from simulator.scenario.model import MAX_SEED
from simulator.scenario.tenants import TenantName

#: The longest a whole rollout may run in virtual time (warm-up and every step): 7 days.
MAX_ROLLOUT_SECONDS: Final[float] = 7 * 86400.0
#: What a rollout's metrics are called: per-intent delivery latency, the percentage of
#: intents that failed per tenant and bucket of ``analysis.bucket`` seconds, (bus
#: rollouts) the attempts per intent accepted in the interval, and the sends to the agent
#: a rate limiter refused per tenant and bucket.
METRIC_NAMES: Final[tuple[str, ...]] = ("latency_ms", "error_rate_pct", "attempts_per_intent", "refused_sends")
#: Why a kind of change has no shadow.
NO_SHADOW: Final[dict[str, str]] = {
    "retry_policy": "retries cannot be mirrored and discarded",
    "rate_limit": "the limiter's verdict depends on the sends it accepted itself",
}
#: The routes (``via``) a kind of change acts on, and what to call them in an error.
ROUTES_ACTED_ON: Final[dict[str, tuple[frozenset[str], str]]] = {
    "retry_policy": (frozenset({"bus"}), "some bus route (via: bus) sends to, as a retry_policy change acts on "
                                         "bus intents"),
    "rate_limit": (frozenset({"bus"}), "some bus route (via: bus) sends to, as a rate_limit change acts on bus "
                                       "sends"),
    "shield": (frozenset({"bus", "http"}), "some HTTP or bus route (via: http or bus) sends to, as a shield change "
                                           "acts at the trust gate, which WebSocket frames never meet"),
}


class RolloutError(InputError):
    """A rollout file failed to load or validate."""


class ShadowStep(Model):
    """A shadow period: every tenant's intents to the changed agent are mirrored to the new
    version, whose answers are worked out and compared but never sent."""

    action: Literal["shadow"]
    duration: PositiveDuration


class CanaryStep(Model):
    """Expose the change live to tenants sending ``weight`` percent of the changed agent's
    traffic (at most; chosen in a seeded order, earlier steps' tenants kept), or to the
    listed ``tenants``."""

    action: Literal["canary"]
    weight: Annotated[float, Field(gt=0, le=100)]
    duration: PositiveDuration
    tenants: list[TenantName] | None = None


class PauseStep(Model):
    """Hold the current exposure for ``duration``; analysis goes on."""

    action: Literal["pause"]
    duration: PositiveDuration


#: One step of a rollout, told apart by ``action``.
Step = Annotated[ShadowStep | CanaryStep | PauseStep, Field(discriminator="action")]


def _default_judge() -> JudgeConfig:
    return JudgeConfig(metrics=[MetricSpec(name="latency_ms", direction="increase", group="latency", critical=True),
                                MetricSpec(name="error_rate_pct", direction="increase", group="errors")],
                       groups=[GroupWeight(name="latency", weight=60.0), GroupWeight(name="errors", weight=40.0)])


class Analysis(Model):
    """How each ``interval`` is judged: the judge's configuration over the metrics
    :data:`METRIC_NAMES`, Flagger-style ``thresholds`` on the canary cohort's
    ``request_success_rate_pct`` and ``request_duration_p99_ms``, the ``bucket`` error
    rates are counted in (per tenant), and ``min_samples``: a cohort that settled fewer
    intents in the interval has no data."""

    interval: PositiveDuration = 120.0
    bucket: PositiveDuration = 10.0
    min_samples: Annotated[Count, Field(ge=1, le=1_000_000)] = 20
    judge: JudgeConfig = Field(default_factory=_default_judge)
    thresholds: list[ThresholdCheck] = Field(default_factory=lambda: list(FLAGGER_DEFAULTS))

    @model_validator(mode="after")
    def _known_metrics(self) -> "Analysis":
        for metric in self.judge.metrics:
            if metric.name not in METRIC_NAMES:
                raise ValueError(f"expected judge metrics among {', '.join(METRIC_NAMES)}, found {metric.name!r}")
        if self.bucket > self.interval:
            raise ValueError(f"expected a bucket no longer than the interval ({self.interval:g} s), "
                             f"found {self.bucket:g} s")
        return self


class Rollback(Model):
    """What happens on a Failed interval: roll back at once (``automatic``), taking
    ``redeploy`` seconds to put the old version back; the rollout is ready only if the
    rollback completes within ``limit`` of the first harmful interval's start."""

    automatic: bool = True
    redeploy: Duration = 30.0
    limit: PositiveDuration = 300.0


class RolloutFile(Model):
    """A canary rollout: the world, the change, the steps, the analysis and the rollback.

    ``scenario`` is a built-in scenario's name or a scenario file relative to the rollout
    file. ``start`` is the virtual time the first step begins (the world warms up before).
    The first canary step may expose at most ``max_tenant_exposure_pct`` percent.
    """

    name: NonEmpty
    description: str = ""
    scenario: NonEmpty
    seed: Annotated[Count, Field(ge=0, le=MAX_SEED)] | None = None
    start: Duration = 600.0
    change: Change
    max_tenant_exposure_pct: Annotated[float, Field(gt=0, le=100)] = 5.0
    steps: Annotated[list[Step], Field(min_length=1, max_length=1000)]
    analysis: Analysis = Analysis()
    rollback: Rollback = Rollback()

    @property
    def length(self) -> float:
        """Virtual seconds from t=0 to the end of the last step."""
        return self.start + sum(step.duration for step in self.steps)


class Rollout(Model):
    """A rollout file read and checked against its scenario."""

    file: str
    rollout: RolloutFile
    scenario: Scenario


def scenario_path(name: str, rollout_file: Path) -> Path:
    """The scenario a rollout names: a file relative to the rollout file, or a built-in name."""
    if name.endswith((".yaml", ".yml")):
        return rollout_file.parent / name
    return SCENARIOS / f"{name}.yaml"


def _cross_checks(rollout: RolloutFile, scenario: Scenario, file: str) -> list[Problem]:
    problems: list[Problem] = []
    agents = {agent.id: agent for agent in scenario.agents}
    change = rollout.change
    agent = agents.get(change.agent)
    if agent is None:
        problems.append(Problem(file=file, field="change.agent",
                                message=f"expected one of the scenario's agents, found {change.agent!r}"))
    elif agent.handler is not None:
        problems.append(Problem(file=file, field="change.agent", message=f"expected an agent without a scripted "
                                f"handler, found {change.agent!r} (handler {agent.handler.kind})"))
    elif not any(route.recipient == change.agent for route in scenario.traffic.routes):
        problems.append(Problem(file=file, field="change.agent",
                                message=f"expected an agent some traffic route sends to, found {change.agent!r}"))
    elif change.kind in ROUTES_ACTED_ON:
        vias, which = ROUTES_ACTED_ON[change.kind]
        if not any(route.recipient == change.agent and route.via in vias for route in scenario.traffic.routes):
            problems.append(Problem(file=file, field="change.agent",
                                    message=f"expected an agent {which}, found {change.agent!r}"))
    tenants = {tenant_of(route.sender) for route in scenario.traffic.routes if route.recipient == change.agent}
    first = True
    weight = 0.0
    for index, step in enumerate(rollout.steps):
        if step.duration < rollout.analysis.interval:
            problems.append(Problem(file=file, field=f"steps[{index}].duration",
                                    message=f"expected at least one analysis interval "
                                            f"({rollout.analysis.interval:g} s), found {step.duration:g} s"))
        if isinstance(step, ShadowStep) and change.kind in NO_SHADOW:
            problems.append(Problem(file=file, field=f"steps[{index}].action",
                                    message=f"expected canary or pause steps: a {change.kind} change has no shadow "
                                            f"({NO_SHADOW[change.kind]}), found shadow"))
        if not isinstance(step, CanaryStep):
            continue
        if first and step.weight > rollout.max_tenant_exposure_pct:
            problems.append(Problem(file=file, field=f"steps[{index}].weight",
                                    message=f"expected the first canary step to expose at most max_tenant_exposure_pct "
                                            f"({rollout.max_tenant_exposure_pct:g} %), found {step.weight:g} %"))
        if step.weight < weight:
            problems.append(Problem(file=file, field=f"steps[{index}].weight",
                                    message=f"expected a weight no lower than the step before ({weight:g} %), "
                                            f"found {step.weight:g} %"))
        weight = max(weight, step.weight)
        first = False
        for position, name in enumerate(step.tenants or []):
            if name not in tenants:
                problems.append(Problem(file=file, field=f"steps[{index}].tenants[{position}]",
                                        message=f"expected a tenant sending to {change.agent}, found {name!r}"))
    if rollout.length > MAX_ROLLOUT_SECONDS:
        problems.append(Problem(file=file, field="steps", message=f"expected start and steps to last at most "
                                f"{MAX_ROLLOUT_SECONDS:g} s, found {rollout.length:g} s"))
    return problems


def rollout_problems(rollout: RolloutFile, scenario: Scenario, file: str) -> list[Problem]:
    """What is wrong with ``rollout`` on ``scenario`` (the checks :func:`load_rollout` makes
    after the schema): the changed agent, the steps' weights, durations and tenants, the
    length; reported against ``file``."""
    return _cross_checks(rollout, scenario, file)


def load_rollout(path: Path) -> Rollout:
    """Read a rollout file and its scenario and check them together; raise
    :class:`RolloutError` (or the scenario's :class:`ScenarioError`) on any problem."""
    data = read_yaml_mapping(path, RolloutError)
    try:
        rollout = RolloutFile.model_validate(data)
    except ValidationError as exc:
        raise RolloutError(validation_problems(exc, str(path), RolloutFile)) from None
    where = scenario_path(rollout.scenario, path)
    if not where.is_file():
        names = ", ".join(sorted(found.stem for found in SCENARIOS.glob("*.yaml")))
        raise RolloutError([Problem(file=str(path), field="scenario", message=f"expected a scenario file or one of "
                                    f"{names}, found {rollout.scenario!r}")])
    scenario = load_scenario(where)
    problems = _cross_checks(rollout, scenario, str(path))
    if problems:
        raise RolloutError(problems)
    return Rollout(file=str(path), rollout=rollout, scenario=scenario)
