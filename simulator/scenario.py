"""Scenario files: the pydantic schema of a world, and a loader that reports every problem.

A scenario describes topology (agents, ACL rows), the bus and directory settings and the
traffic. :func:`load_scenario` turns a YAML file into a validated :class:`Scenario` or
raises :class:`ScenarioError` listing one line per problem: file, field path, what was
expected and what was found.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationError, field_validator

from simulator.faults import AgentFault, FaultSpec, Injection, LinkFault
from simulator.problems import InputError, Problem, read_yaml_mapping, validation_problems
from simulator.retry import beam_retry_span
from simulator.schema import AclEntry, BeamId, Latency, Model, Probability, latency_field
from simulator.units import Duration, Rate

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


class ShieldSpec(Model):
    """A recipient's Shield configuration (beam-model §7); defaults are Beam's."""

    mode: Literal["open", "whitelist", "closed"] = "open"
    allowlist: list[str] = Field(default_factory=list)
    blocklist: list[str] = Field(default_factory=list)
    min_trust: Probability = 0.3
    rate_limit: Annotated[int, Field(ge=1, le=1000)] = 20


class AgentSpec(Model):
    """One agent: its connection and answers, and what the directory knows of it.

    ``ip`` is the client address its HTTP sends carry (none: Beam sees ``unknown``);
    ``verified``, ``tier``, ``age_days`` and ``flagged`` drive its trust score (§3.8);
    ``shield`` is its Shield configuration as a recipient; ``clock_skew`` is how far its
    clock runs ahead (positive) or behind, in seconds.
    """

    id: BeamId
    connected: bool = True
    latency: latency_field = Latency()
    failure_rate: Probability = 0.0
    failure_code: str = "RESULT_ERROR"
    async_accept: Probability = 0.0
    concurrency: Annotated[int, Field(ge=1)] | None = None
    handler: Handler | None = None
    ip: str | None = None
    verified: bool = False
    tier: str = "basic"
    age_days: Annotated[float, Field(ge=0)] = 30.0
    flagged: bool = False
    shield: ShieldSpec = ShieldSpec()
    clock_skew: float = 0.0


class BusSpec(Model):
    """Message bus settings (beam-model §4). Defaults are Beam's own."""

    rate_limit_per_min: Annotated[int, Field(ge=1)] = 10
    max_retries: Annotated[int, Field(ge=1, le=100)] = 5
    worker_interval: Duration = 30.0
    worker_batch: Annotated[int, Field(ge=1)] = 10
    attempt_timeout: Duration = 30.0
    retry_policy: Literal["beam"] = "beam"
    ip: str | None = None


class PublicLimits(Model):
    """The public limiter on ``POST /intents/send`` (§5.2): fixed 60 s windows per client
    address and per sender; trusted addresses and sender patterns skip it."""

    per_ip_per_min: Annotated[int, Field(ge=1)] = 30
    per_sender_per_min: Annotated[int, Field(ge=1)] = 20
    trusted_ips: list[str] = Field(default_factory=list)
    trusted_senders: list[str] = Field(default_factory=list)


class DirectorySpec(Model):
    """Directory settings (beam-model §3, §5). Defaults are Beam's.

    ``rate_limit_per_min`` is ``BEAM_RATE_LIMIT_PER_MIN``: when set it replaces the
    relay's per-sender limit (§5.1, else 60) and, with the ``rate_limit_env_sets_both``
    quirk, the public per-sender limit too (§5.2b).
    """

    http_result_timeout: Duration = 60.0
    ws_result_timeout: Duration = 30.0
    public_limits: PublicLimits = PublicLimits()
    rate_limit_per_min: Annotated[int, Field(ge=1)] | None = None
    max_payload_bytes: Annotated[int, Field(ge=1)] = 65536
    replay_window: Duration = 300.0
    recovery_sweep_interval: Duration = 5.0
    extra_intents: list[str] = Field(default_factory=list)


class QuirksSpec(Model):
    """Single switches for Beam's as-coded behaviour; unset ones follow ``fidelity``.

    ``retry_trace_guard``: a retryable failure resent with its nonce errors out (§3.9/1).
    ``clock_skew_trace``: a sender clock ahead of the directory breaks the trace (§3.9/2).
    ``late_result_crash``: a late result after a failure stops the directory (§3.9/3).
    ``trust_gate_window_wipe``: the 300 s public cleanup wipes pair buckets (§5).
    ``rate_limit_env_sets_both``: ``rate_limit_per_min`` sets §5.1 and §5.2b (§5).
    """

    retry_trace_guard: bool | None = None
    clock_skew_trace: bool | None = None
    late_result_crash: bool | None = None
    trust_gate_window_wipe: bool | None = None
    rate_limit_env_sets_both: bool | None = None


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


#: The default epoch: virtual time 0 is this instant, so exported timestamps are reproducible.
DEFAULT_EPOCH = datetime(2026, 4, 3, 8, 0, tzinfo=timezone.utc)


class Scenario(Model):
    """A whole world: what exists, how it is configured and what traffic it carries.

    ``epoch`` is the wall-clock instant virtual time 0 stands for; every exported
    timestamp is ``epoch + virtual seconds``. A time without a zone is read as UTC.
    """

    name: Annotated[str, StringConstraints(min_length=1)]
    description: str = ""
    seed: Annotated[int, Field(ge=0)] = 1
    duration: Duration = 600.0
    epoch: datetime = DEFAULT_EPOCH
    bus: BusSpec = BusSpec()
    directory: DirectorySpec = DirectorySpec()
    retention: RetentionSpec = RetentionSpec()
    agents: Annotated[list[AgentSpec], Field(min_length=1)]
    acl: list[AclEntry] = Field(default_factory=list)
    traffic: TrafficSpec = TrafficSpec()
    faults: list[FaultSpec] = Field(default_factory=list)
    fidelity: Literal["documented", "as-coded"] = "documented"
    quirks: QuirksSpec = QuirksSpec()

    @field_validator("epoch")
    @classmethod
    def _utc(cls, epoch: datetime) -> datetime:
        return epoch.replace(tzinfo=timezone.utc) if epoch.tzinfo is None else epoch.astimezone(timezone.utc)

    @property
    def epoch_ns(self) -> int:
        """The epoch in nanoseconds since the Unix epoch."""
        return int(self.epoch.timestamp()) * 1_000_000_000 + self.epoch.microsecond * 1000

    def resolved_quirks(self) -> dict[str, bool]:
        """Every quirk switch resolved: set ones as given, unset ones from ``fidelity``."""
        default = self.fidelity == "as-coded"
        return {name: default if value is None else value for name, value in self.quirks.model_dump().items()}

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
    route_labels = set(labels)
    for index, fault in enumerate(scenario.faults):
        field = f"faults[{index}]"
        if isinstance(fault, AgentFault):
            agent_ref(f"{field}.agent", fault.agent)
        elif isinstance(fault, Injection) and fault.route not in route_labels:
            problem(f"{field}.route", f"expected one of the route names {sorted(route_labels)}, found {fault.route!r}")
        elif isinstance(fault, LinkFault) and fault.link.startswith("directory->"):
            agent_ref(f"{field}.link", fault.link.removeprefix("directory->"))
        elif fault.kind in ("acl_remove", "acl_add"):
            agent_ref(f"{field}.target", fault.target_agent)
            entry = AclEntry(target=fault.target_agent, intent=fault.intent, allowed_from=fault.allowed_from)
            if fault.kind == "acl_remove" and entry not in scenario.acl:
                problem(field, f"expected one of the scenario's acl rows, found {fault.target_agent} "
                        f"{fault.intent} from {fault.allowed_from}")
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
