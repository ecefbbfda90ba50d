"""The scenario schema: the pydantic models of a world (agents, ACL rows, bus and directory
settings, retention, traffic, faults, fidelity). Loading and cross-field checks are
:mod:`simulator.scenario.loader`."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Final, Literal

from pydantic import (
    Field, SerializerFunctionWrapHandler, StringConstraints, ValidationInfo, field_validator, model_serializer,
)

from simulator.kernel.fields import BeamId, Count, Model, Probability
from simulator.kernel.units import Duration, PositiveDuration, Rate
from simulator.scenario.faults import FaultSpec
from simulator.scenario.parts import AclEntry, Latency, latency_field
from simulator.scenario.policies import (
    BeamRetry, CircuitBreakerSpec, ClientRetrySpec, RetryBudgetSpec, RetryPolicySpec,
)
from simulator.scenario.readiness import CapabilitySpec, OperationsSpec, PartnerRequestSpec, SloSpec
from simulator.scenario.tenants import TenantSpec

#: Bounds on what a scenario may ask for: far beyond any real Beam network, well short of
#: what would exhaust a machine before the run could say so.
MAX_AGENTS: Final[int] = 100_000
MAX_ACL_ROWS: Final[int] = 1_000_000
MAX_ROUTES: Final[int] = 100_000
MAX_CONCURRENCY: Final[int] = 10_000
MAX_LIMIT: Final[int] = 1_000_000_000
MAX_SEED: Final[int] = 2**63 - 1
#: Beam's ``max_retries`` (attempts in all, beam-model §4.4).
DEFAULT_MAX_RETRIES: Final[int] = 5


def _without_off(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """``data`` without the optional settings that are off (None), so a resolved scenario
    reads as it did before those settings existed."""
    for name in names:
        if data.get(name, True) is None:
            del data[name]
    return data


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
    max_quantity: Annotated[Count, Field(ge=0)] = 240
    ship_window: str = "Thu 08:00-12:00 CET"


Handler = Annotated[QuoteDeskHandler | InventoryHandler, Field(discriminator="kind")]


class ShieldSpec(Model):
    """A recipient's Shield configuration (beam-model §7); defaults are Beam's."""

    mode: Literal["open", "whitelist", "closed"] = "open"
    allowlist: list[str] = Field(default_factory=list)
    blocklist: list[str] = Field(default_factory=list)
    min_trust: Probability = 0.3
    rate_limit: Annotated[Count, Field(ge=1, le=1000)] = 20


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
    concurrency: Annotated[Count, Field(ge=1, le=MAX_CONCURRENCY)] | None = None
    handler: Handler | None = None
    ip: str | None = None
    verified: bool = False
    tier: str = "basic"
    age_days: Annotated[float, Field(ge=0, le=36_500)] = 30.0
    flagged: bool = False
    shield: ShieldSpec = Field(default_factory=ShieldSpec)
    clock_skew: Annotated[float, Field(ge=-86_400, le=86_400)] = 0.0
    client_retry: ClientRetrySpec | None = None

    @model_serializer(mode="wrap")
    def _without_client_retry(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_off(handler(self), "client_retry")


class BusSpec(Model):
    """Message bus settings (beam-model §4). Defaults are Beam's own.

    ``retry_policy`` is Beam's schedule (``beam``) or a retry preset
    (:mod:`simulator.scenario.policies`); ``max_retries`` is Beam's (attempts in all) and
    applies to ``beam`` only: a preset carries its own ``max_retries`` (retries after the
    first attempt). ``retry_budget`` and ``circuit_breaker``, off unless given, guard each
    sender→recipient pair; a resolved scenario leaves them out while they are off.
    """

    rate_limit_per_min: Annotated[Count, Field(ge=1, le=MAX_LIMIT)] = 10
    max_retries: Annotated[Count, Field(ge=1, le=100)] = DEFAULT_MAX_RETRIES
    worker_interval: PositiveDuration = 30.0
    worker_batch: Annotated[Count, Field(ge=1, le=100_000)] = 10
    attempt_timeout: Duration = 30.0
    retry_policy: RetryPolicySpec = BeamRetry(preset="beam")
    ip: str | None = None
    retry_budget: RetryBudgetSpec | None = None
    circuit_breaker: CircuitBreakerSpec | None = None

    @field_validator("retry_policy")
    @classmethod
    def _max_retries_belongs_to_beam(cls, policy: Any, info: ValidationInfo) -> Any:
        max_retries = info.data.get("max_retries", DEFAULT_MAX_RETRIES)
        if not isinstance(policy, BeamRetry) and max_retries != DEFAULT_MAX_RETRIES:
            own = ("makes one attempt" if policy.preset == "none"
                   else "counts its own max_retries (retries after the first attempt)")
            raise ValueError(f"the {policy.preset} preset {own}; expected bus.max_retries left at Beam's "
                             f"{DEFAULT_MAX_RETRIES}, found {max_retries}")
        return policy

    @model_serializer(mode="wrap")
    def _without_off_guards(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in ("retry_budget", "circuit_breaker"):
            if data.get(name, True) is None:
                del data[name]
        return data


class PublicLimits(Model):
    """The public limiter on ``POST /intents/send`` (§5.2): fixed 60 s windows per client
    address and per sender; trusted addresses and sender patterns skip it."""

    per_ip_per_min: Annotated[Count, Field(ge=1, le=MAX_LIMIT)] = 30
    per_sender_per_min: Annotated[Count, Field(ge=1, le=MAX_LIMIT)] = 20
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
    rate_limit_per_min: Annotated[Count, Field(ge=1, le=MAX_LIMIT)] | None = None
    max_payload_bytes: Annotated[Count, Field(ge=1, le=100 * 2**20)] = 65536
    replay_window: Duration = 300.0
    recovery_sweep_interval: PositiveDuration = 5.0
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


class BackupSpec(Model):
    """Backups of the bus and directory stores taken on a schedule (beam-model §12): a
    consistent snapshot every ``every`` from ``every`` on, the newest ``keep`` kept."""

    every: PositiveDuration
    keep: Annotated[Count, Field(ge=1, le=1000)] = 4


class RouteSpec(Model):
    """Background traffic: Poisson arrivals of one intent type from one agent to another.

    ``count`` ends the route after that many intents (a crowd of clients arriving at
    once, as in Brooker's contention simulator); ``client_retry`` (off unless given)
    retries its HTTP or WebSocket sends as the sender's client would.
    """

    name: str | None = None
    sender: BeamId = Field(alias="from")
    recipient: BeamId = Field(alias="to")
    intent: str
    via: Literal["bus", "http", "ws"] = "ws"
    rate: Rate
    payload: dict[str, Any] = Field(default_factory=dict)
    priority: Annotated[Count, Field(ge=-1_000_000, le=1_000_000)] = 0
    count: Annotated[Count, Field(ge=1, le=MAX_LIMIT)] | None = None
    client_retry: ClientRetrySpec | None = None

    @field_validator("client_retry")
    @classmethod
    def _client_sends_only(cls, retry: ClientRetrySpec | None, info: ValidationInfo) -> ClientRetrySpec | None:
        if retry is not None and info.data.get("via") == "bus":
            raise ValueError("expected no client_retry on a bus route: the bus retries its own sends "
                             "(bus.retry_policy); client retries are for via http or ws")
        return retry

    @model_serializer(mode="wrap")
    def _without_client_retry(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_off(handler(self), "count", "client_retry")

    @property
    def label(self) -> str:
        """The route's name, or ``from->to:intent`` when it has none."""
        return self.name or f"{self.sender}->{self.recipient}:{self.intent}"


class BurstSpec(Model):
    """A window in which one route's rate is multiplied."""

    route: str
    start: Duration
    duration: Duration
    multiplier: Annotated[float, Field(gt=0, le=1000)]


class QuoteWorkflow(Model):
    """The demo workflow of beam-model §11, run ``count`` times, ``every`` apart."""

    kind: Literal["quote"] = "quote"
    at: Duration = 1.0
    every: Duration = 60.0
    count: Annotated[Count, Field(ge=1, le=100_000)] = 1
    requester: BeamId = "procurement@acme.beam.directory"
    desk: BeamId = "partner-desk@northwind.beam.directory"
    project: str = "Mannheim rooftop rollout"
    sku: str = "INV-240"
    quantity: Annotated[Count, Field(ge=0, le=10**9)] = 240
    ship_to: str = "Mannheim, DE"
    needed_by: str = "2026-04-03"


class TrafficSpec(Model):
    """All traffic of a scenario: routes, bursts, a daily profile and scripted workflows."""

    routes: Annotated[list[RouteSpec], Field(max_length=MAX_ROUTES)] = Field(default_factory=list)
    bursts: Annotated[list[BurstSpec], Field(max_length=10_000)] = Field(default_factory=list)
    daily_profile: list[Annotated[float, Field(ge=0, le=1000)]] | None = None
    workflows: Annotated[list[QuoteWorkflow], Field(max_length=1000)] = Field(default_factory=list)

    @field_validator("daily_profile")
    @classmethod
    def _one_factor_per_hour(cls, profile: list[float] | None) -> list[float] | None:
        if profile is not None and len(profile) != 24:
            raise ValueError(f"expected 24 hourly factors, one per hour, not {len(profile)}")
        return profile


#: The scenario's optional launch-readiness fields, left out of a resolved scenario while empty.
READINESS_FIELDS: Final[tuple[str, ...]] = ("slos", "capabilities", "operations", "partner_requests")

#: The default epoch: virtual time 0 is this instant, so exported timestamps are reproducible.
DEFAULT_EPOCH = datetime(2026, 4, 3, 8, 0, tzinfo=timezone.utc)


class Scenario(Model):
    """A whole world: what exists, how it is configured and what traffic it carries.

    ``epoch`` is the wall-clock instant virtual time 0 stands for; every exported
    timestamp is ``epoch + virtual seconds``. A time without a zone is read as UTC.
    ``tenants`` declares tenants with traffic weights (:mod:`simulator.scenario.tenants`);
    a resolved scenario leaves the list out while it is empty.
    """

    name: Annotated[str, StringConstraints(min_length=1)]
    description: str = ""
    seed: Annotated[Count, Field(ge=0, le=MAX_SEED)] = 1
    duration: PositiveDuration = 600.0
    epoch: datetime = DEFAULT_EPOCH
    bus: BusSpec = BusSpec()
    directory: DirectorySpec = DirectorySpec()
    retention: RetentionSpec = RetentionSpec()
    #: Scheduled backups of the stores; None (the default) takes none unless asked.
    backups: BackupSpec | None = None
    agents: Annotated[list[AgentSpec], Field(min_length=1, max_length=MAX_AGENTS)]
    acl: Annotated[list[AclEntry], Field(max_length=MAX_ACL_ROWS)] = Field(default_factory=list)
    traffic: TrafficSpec = TrafficSpec()
    faults: Annotated[list[FaultSpec], Field(max_length=10_000)] = Field(default_factory=list)
    fidelity: Literal["documented", "as-coded"] = "documented"
    quirks: QuirksSpec = QuirksSpec()
    tenants: Annotated[list[TenantSpec], Field(max_length=MAX_AGENTS)] = Field(default_factory=list)
    # Launch readiness (simulator.scenario.readiness), read by the readiness gate; a resolved
    # scenario leaves them out while they are not declared.
    slos: list[SloSpec] = Field(default_factory=list)
    capabilities: Annotated[list[CapabilitySpec], Field(max_length=MAX_ROUTES)] = Field(default_factory=list)
    operations: OperationsSpec | None = None
    partner_requests: Annotated[list[PartnerRequestSpec], Field(max_length=1000)] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _without_undeclared_tenants_and_readiness(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in ("tenants", *READINESS_FIELDS):
            if name in data and not data[name]:
                del data[name]
        return data

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

    def tenant_weights(self) -> dict[str, float]:
        """Each declared tenant's traffic weight, by name."""
        return {tenant.name: tenant.weight for tenant in self.tenants}

    def agent(self, beam_id: str) -> AgentSpec:
        """Return the agent with id ``beam_id``."""
        for spec in self.agents:
            if spec.id == beam_id:
                return spec
        raise KeyError(beam_id)
