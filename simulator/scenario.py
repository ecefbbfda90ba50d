"""Scenario files: the pydantic schema of a world, and a loader that reports every problem.

A scenario describes topology (agents, ACL rows), the bus and directory settings and the
traffic. :func:`load_scenario` turns a YAML file into a validated :class:`Scenario` or
raises :class:`ScenarioError` listing one line per problem: file, field path, what was
expected and what was found.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from simulator.problems import InputError, Problem, read_yaml_mapping, validation_problems
from simulator.retry import beam_retry_span
from simulator.units import Duration, Rate

BeamId = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$", max_length=200)
]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Model(BaseModel):
    """Base for every schema model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _latency_shorthand(value: Any) -> Any:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "mean": value}
    return value


class Latency(Model):
    """How long an agent takes to answer: a distribution over seconds.

    ``fixed`` always takes ``mean``; ``exponential`` has mean ``mean``; ``lognormal`` has
    mean ``mean`` and shape ``sigma``; ``uniform`` draws from ``low``..``high``.
    A bare duration (``latency: 80ms``) means fixed.
    """

    dist: Literal["fixed", "exponential", "lognormal", "uniform"] = "fixed"
    mean: Duration = 0.05
    sigma: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5
    low: Duration | None = None
    high: Duration | None = None

    @model_validator(mode="after")
    def _uniform_bounds(self) -> "Latency":
        if self.dist == "uniform":
            if self.low is None or self.high is None:
                raise ValueError("expected both low and high for dist uniform")
            if self.low > self.high:
                raise ValueError("expected low ≤ high")
        return self


class QuoteDeskHandler(Model):
    """The demo's partner desk (§11): checks inventory over WebSocket, answers the quote,
    then sends a purchase preflight to finance through the bus."""

    kind: Literal["quote-desk"]
    warehouse: BeamId
    finance: BeamId
    unit_price_eur: Annotated[float, Field(ge=0)] = 184


class InventoryHandler(Model):
    """The demo's warehouse: ``available = quantity ≤ max_quantity``."""

    kind: Literal["inventory"]
    max_quantity: Annotated[int, Field(ge=0)] = 240
    ship_window: str = "Thu 08:00-12:00 CET"


Handler = Annotated[QuoteDeskHandler | InventoryHandler, Field(discriminator="kind")]


class AgentSpec(Model):
    """One agent: whether it holds a WebSocket connection and how it answers intents."""

    id: BeamId
    connected: bool = True
    latency: Annotated[Latency, BeforeValidator(_latency_shorthand)] = Latency()
    failure_rate: Probability = 0.0
    failure_code: str = "RESULT_ERROR"
    async_accept: Probability = 0.0
    concurrency: Annotated[int, Field(ge=1)] | None = None
    handler: Handler | None = None


class AclEntry(Model):
    """One ACL row: ``target`` accepts ``intent`` from senders matching ``allowed_from``."""

    target: BeamId
    intent: str
    allowed_from: Annotated[str, StringConstraints(min_length=1)]


class BusSpec(Model):
    """Message bus settings (beam-model §4). Defaults are Beam's own."""

    rate_limit_per_min: Annotated[int, Field(ge=1)] = 10
    max_retries: Annotated[int, Field(ge=1, le=100)] = 5
    worker_interval: Duration = 30.0
    worker_batch: Annotated[int, Field(ge=1)] = 10
    attempt_timeout: Duration = 30.0
    retry_policy: Literal["beam"] = "beam"


class DirectorySpec(Model):
    """Directory settings (beam-model §3.5): how long a relay waits for the agent's result."""

    http_result_timeout: Duration = 60.0
    ws_result_timeout: Duration = 30.0


class RetentionSpec(Model):
    """How long finished rows stay addressable by nonce or id before they are compacted
    into counts. Beam keeps rows forever; a bounded horizon keeps memory flat on long
    runs. ``null`` keeps every row. The horizon must outlast the bus's longest retry
    span, so the directory still knows every nonce the bus may send again."""

    finished_rows: Duration | None = 3600.0


class RouteSpec(Model):
    """Background traffic: Poisson arrivals of one intent type from one agent to another."""

    name: str | None = None
    sender: BeamId = Field(alias="from")
    recipient: BeamId = Field(alias="to")
    intent: str
    via: Literal["bus", "http", "ws"] = "ws"
    rate: Rate
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: int = 0

    @property
    def label(self) -> str:
        """The route's name, or ``from->to:intent`` when it has none."""
        return self.name or f"{self.sender}->{self.recipient}:{self.intent}"


class BurstSpec(Model):
    """A window in which one route's rate is multiplied."""

    route: str
    start: Duration
    duration: Duration
    multiplier: Annotated[float, Field(gt=0)]


class QuoteWorkflow(Model):
    """The demo workflow of beam-model §11, run ``count`` times, ``every`` apart."""

    kind: Literal["quote"] = "quote"
    at: Duration = 1.0
    every: Duration = 60.0
    count: Annotated[int, Field(ge=1)] = 1
    requester: BeamId = "procurement@acme.beam.directory"
    desk: BeamId = "partner-desk@northwind.beam.directory"
    project: str = "Mannheim rooftop rollout"
    sku: str = "INV-240"
    quantity: Annotated[int, Field(ge=0)] = 240
    ship_to: str = "Mannheim, DE"
    needed_by: str = "2026-04-03"


class TrafficSpec(Model):
    """All traffic of a scenario: routes, bursts, a daily profile and scripted workflows."""

    routes: list[RouteSpec] = Field(default_factory=list)
    bursts: list[BurstSpec] = Field(default_factory=list)
    daily_profile: list[Annotated[float, Field(ge=0)]] | None = None
    workflows: list[QuoteWorkflow] = Field(default_factory=list)

    @field_validator("daily_profile")
    @classmethod
    def _one_factor_per_hour(cls, profile: list[float] | None) -> list[float] | None:
        if profile is not None and len(profile) != 24:
            raise ValueError(f"expected 24 hourly factors, one per hour, not {len(profile)}")
        return profile


class Scenario(Model):
    """A whole world: what exists, how it is configured and what traffic it carries."""

    name: Annotated[str, StringConstraints(min_length=1)]
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 1
    duration: Duration = 600.0
    bus: BusSpec = BusSpec()
    directory: DirectorySpec = DirectorySpec()
    retention: RetentionSpec = RetentionSpec()
    agents: Annotated[list[AgentSpec], Field(min_length=1)]
    acl: list[AclEntry] = Field(default_factory=list)
    traffic: TrafficSpec = TrafficSpec()

    def agent(self, beam_id: str) -> AgentSpec:
        """Return the agent with id ``beam_id``."""
        for spec in self.agents:
            if spec.id == beam_id:
                return spec
        raise KeyError(beam_id)


class ScenarioError(InputError):
    """A scenario file failed to load or validate."""


def _cross_checks(scenario: Scenario, file: str) -> list[Problem]:
    """Checks that span fields: ids must be unique and every reference must resolve."""
    problems: list[Problem] = []

    def problem(field: str, message: str) -> None:
        problems.append(Problem(file=file, field=field, message=message))

    counts = Counter(agent.id for agent in scenario.agents)
    known: set[str] = set()
    for index, agent in enumerate(scenario.agents):
        if agent.id in known:
            problem(f"agents[{index}].id", f"expected a unique agent id, found {agent.id!r} {counts[agent.id]} times")
        known.add(agent.id)

    def agent_ref(field: str, beam_id: str) -> None:
        if beam_id not in known:
            problem(field, f"expected one of the scenario's agents, found {beam_id!r}")

    for index, agent in enumerate(scenario.agents):
        handler = agent.handler
        if isinstance(handler, QuoteDeskHandler):
            agent_ref(f"agents[{index}].handler.warehouse", handler.warehouse)
            agent_ref(f"agents[{index}].handler.finance", handler.finance)
    for index, entry in enumerate(scenario.acl):
        agent_ref(f"acl[{index}].target", entry.target)
    labels = Counter(route.label for route in scenario.traffic.routes)
    seen: set[str] = set()
    for index, route in enumerate(scenario.traffic.routes):
        agent_ref(f"traffic.routes[{index}].from", route.sender)
        agent_ref(f"traffic.routes[{index}].to", route.recipient)
        if route.label in seen:
            problem(f"traffic.routes[{index}].name", f"expected a unique route name, found {route.label!r} {labels[route.label]} times")
        seen.add(route.label)
    for index, burst in enumerate(scenario.traffic.bursts):
        if burst.route not in labels:
            problem(f"traffic.bursts[{index}].route", f"expected one of the route names {sorted(labels)}, found {burst.route!r}")
    horizon = scenario.retention.finished_rows
    bus = scenario.bus
    span = beam_retry_span(bus.max_retries, bus.worker_interval, bus.attempt_timeout)
    if horizon is not None and horizon < span:
        problem("retention.finished_rows", f"expected null or at least {span:g} s, the longest the bus can "
                f"retry a message with these bus settings, found {horizon:g} s")
    for index, workflow in enumerate(scenario.traffic.workflows):
        agent_ref(f"traffic.workflows[{index}].requester", workflow.requester)
        agent_ref(f"traffic.workflows[{index}].desk", workflow.desk)
        if workflow.desk in known and not isinstance(scenario.agent(workflow.desk).handler, QuoteDeskHandler):
            problem(f"traffic.workflows[{index}].desk", f"expected an agent with handler kind quote-desk, found {workflow.desk!r}")
    return problems


def parse_scenario(data: dict[str, Any], file: str = "<scenario>") -> Scenario:
    """Validate an already-parsed mapping; raise :class:`ScenarioError` on any problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(validation_problems(exc, file, Scenario)) from None
    problems = _cross_checks(scenario, file)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file; raise :class:`ScenarioError` on any problem."""
    path = Path(path)
    return parse_scenario(read_yaml_mapping(path, ScenarioError), str(path))
