"""Changes a rollout ships, and a change staged in a world for a cohort of tenants.

A change (:data:`Change`) is what a canary rollout exposes to some tenants and not others:

- ``agent_version``, a new version of an agent: its latency, failure rate, failure code and
  async acceptance override the agent's own for the intents that the cohort's tenants send it;
- ``retry_policy``, a bus retry preset, retry budget or circuit breaker
  (:mod:`simulator.scenario.policies`) for the intents the cohort's tenants send the agent
  over the bus: each is pinned, when the bus accepts it, to the change's policy, retries
  and guards (:mod:`simulator.beam.retryseam`). It has no shadow: its effect is the retries
  themselves, which cannot be mirrored and discarded;
- ``shield``, a Shield config for the agent, applied by the trust gate to the frames the
  cohort's tenants send it (:mod:`simulator.beam.shieldseam`), with a shadow;
- ``rate_limit``, the bus's per-sender limit for the cohort's senders
  (:mod:`simulator.beam.limitseam`), without a shadow.

:class:`StagedChange` is a change's handle in a running world: expose it (live, or as a
shadow where the kind has one) to a set of tenants from now on, or roll it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Callable, Collection, Literal, Protocol, Union, cast

import simpy
from pydantic import Field, model_validator

from simulator.beam.agents import Agent, ShadowAnswer, Variant
from simulator.beam.bus import Bus
from simulator.beam.busrows import BusMessage
from simulator.beam.retry import RetryPolicy
from simulator.beam.retryseam import PairGuards, Pin, RetrySeam
from simulator.kernel.fields import BeamId, Count, Model, NonEmpty, Probability
from simulator.kernel.rng import Streams
from simulator.policies import breaker_maker, budget_maker, preset_retry
from simulator.scenario.parts import latency_field
from simulator.scenario.policies import BeamRetry, CircuitBreakerSpec, RetryBudgetSpec, RetryPolicySpec
from simulator.scenario.tenants import tenant_of

#: How a staged change meets its cohort's traffic.
Exposure = Literal["off", "shadow", "live"]


class AgentVersionChange(Model):
    """A new version of agent ``agent``: each field set overrides the agent's own for the
    cohort's intents. ``latency_factor`` scales the agent's own latency draw (common
    random numbers); ``latency`` instead draws from a distribution of its own."""

    kind: Literal["agent_version"]
    agent: BeamId
    version: NonEmpty = "canary"
    latency: latency_field | None = None
    latency_factor: Annotated[float, Field(gt=0, le=1000)] = 1.0
    failure_rate: Probability | None = None
    failure_code: NonEmpty | None = None
    async_accept: Probability | None = None

    def describe(self) -> str:
        """One line saying what the change does."""
        parts = [f"{self.agent} version {self.version}"]
        if self.latency is not None:
            parts.append(f"latency {self.latency.dist} mean {self.latency.mean:g} s")
        if self.latency_factor != 1.0:
            parts.append(f"latency ×{self.latency_factor:g}")
        if self.failure_rate is not None:
            parts.append(f"failure rate {self.failure_rate:g}")
        if self.failure_code is not None:
            parts.append(f"failure code {self.failure_code}")
        if self.async_accept is not None:
            parts.append(f"async acceptance {self.async_accept:g}")
        return ", ".join(parts)


class RetryPolicyChange(Model):
    """Bus retries for the intents the cohort's tenants send ``agent`` over the bus:
    ``retry_policy`` is a preset, by name or with its knobs, as ``bus.retry_policy``
    (``beam`` keeps the bus's ``max_retries``); ``retry_budget`` and ``circuit_breaker``
    are guards as the bus's, per sender→recipient pair, with state of the change's own.
    Each left out stays the bus's; at least one is given. Jittered presets draw from a
    stream of the change's own, so the baseline's draws are untouched."""

    kind: Literal["retry_policy"]
    agent: BeamId
    version: NonEmpty = "canary"
    retry_policy: RetryPolicySpec | None = None
    retry_budget: RetryBudgetSpec | None = None
    circuit_breaker: CircuitBreakerSpec | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> "RetryPolicyChange":
        if self.retry_policy is None and self.retry_budget is None and self.circuit_breaker is None:
            raise ValueError("expected at least one of retry_policy, retry_budget and circuit_breaker, found none")
        return self

    def describe(self) -> str:
        """One line saying what the change does."""
        parts: list[str] = []
        chosen = self.retry_policy
        if chosen is not None:
            knobs = {} if isinstance(chosen, BeamRetry) else chosen.model_dump(exclude={"preset"})
            text = ", ".join(f"{name} {value:g}" for name, value in knobs.items() if isinstance(value, (int, float)))
            parts.append(chosen.preset + (f" ({text})" if text else ""))
        budget = self.retry_budget
        if budget is not None:
            parts.append(f"retry budget {100 * budget.percent_can_retry:g} % + {budget.min_retries_per_sec}/s "
                         f"over {budget.ttl:g} s")
        breaker = self.circuit_breaker
        if breaker is not None:
            parts.append(f"circuit breaker at {breaker.failure_rate_threshold:g} % failures or "
                         f"{breaker.slow_call_rate_threshold:g} % slower than "
                         f"{breaker.slow_call_duration_threshold:g} s "
                         f"over {breaker.sliding_window_size} calls (at least {breaker.minimum_number_of_calls}), "
                         f"open {breaker.wait_duration_in_open_state:g} s")
        return f"bus retries to {self.agent} version {self.version}: " + ", ".join(parts)


class ShieldOverrideSpec(Model):
    """The Shield config fields a change sets (as an agent's ``shield``); each left out
    stays the agent's own, as it is when the frame arrives. At least one is given."""

    mode: Literal["open", "whitelist", "closed"] | None = None
    allowlist: list[str] | None = None
    blocklist: list[str] | None = None
    min_trust: Probability | None = None
    rate_limit: Annotated[Count, Field(ge=1, le=1000)] | None = None

    @model_validator(mode="after")
    def _sets_something(self) -> "ShieldOverrideSpec":
        if all(value is None for _name, value in self):
            raise ValueError("expected at least one of mode, allowlist, blocklist, min_trust and rate_limit, "
                             "found none")
        return self


class ShieldChange(Model):
    """A Shield config for ``agent``, applied by the directory's trust gate to the frames
    the cohort's tenants send it: HTTP sends and the bus's attempts (the trust gate is
    HTTP middleware; WebSocket frames never meet it). Its shadow gates each frame with
    both configs, keeps the agent's own decision and reports both."""

    kind: Literal["shield"]
    agent: BeamId
    version: NonEmpty = "canary"
    shield: ShieldOverrideSpec

    def describe(self) -> str:
        """One line saying what the change does."""
        spec = self.shield
        parts = []
        if spec.mode is not None:
            parts.append(f"mode {spec.mode}")
        for name, listed in (("allowlist", spec.allowlist), ("blocklist", spec.blocklist)):
            if listed == []:
                parts.append(f"{name} emptied")
            elif listed is not None:
                parts.append(f"{name} of {len(listed)}" + (f" ({', '.join(listed)})" if len(listed) <= 3 else ""))
        if spec.min_trust is not None:
            parts.append(f"min trust {spec.min_trust:g}")
        if spec.rate_limit is not None:
            parts.append(f"pair rate limit {spec.rate_limit}/h")
        return f"Shield config of {self.agent} version {self.version}: " + ", ".join(parts)


class RateLimitChange(Model):
    """A per-sender limit of the bus's sliding minute (beam-model §5.4) for the senders of
    the cohort's tenants that send ``agent`` intents: each of them may have at most
    ``limit_per_min`` sends accepted in any 60 s, to any recipient (Beam's limiter keys on
    the sender alone). It has no shadow: the limiter's verdict depends on the sends it
    accepted itself, which differ as soon as the limits do."""

    kind: Literal["rate_limit"]
    agent: BeamId
    version: NonEmpty = "canary"
    limit_per_min: Annotated[Count, Field(ge=1, le=1_000_000)]

    def describe(self) -> str:
        """One line saying what the change does."""
        return (f"bus rate limit of the senders to {self.agent} version {self.version}: "
                f"{self.limit_per_min}/min per sender")


#: Every kind of change a rollout may ship, told apart by ``kind``.
Change = Annotated[Union[AgentVersionChange, RetryPolicyChange, ShieldChange, RateLimitChange],
                   Field(discriminator="kind")]


class Exposed(Protocol):
    """Where a staged change keeps its cohort, its exposure (``mode``) and the nonces it
    served: the agent's variant or the seam the change acts through."""

    @property
    def served(self) -> list[str]:
        """Nonces served under the change so far."""
        ...

    @property
    def cohort(self) -> frozenset[str]:
        """The tenants the change is exposed to now."""
        ...

    @property
    def mode(self) -> str:
        """``off``, ``shadow`` or ``live``."""
        ...


@dataclass
class Audience:
    """An :class:`Exposed` of a change's own, for a kind whose seam keeps none."""

    served: list[str] = field(default_factory=list)
    cohort: frozenset[str] = frozenset()
    mode: Exposure = "off"


class StagedChange:
    """A change installed in a world, exposed to nobody until :meth:`expose` says so.

    ``served`` holds the nonces its live version answered; ``on_shadow`` is told of every
    intent a shadow worked out without answering it (:class:`ShadowAnswer`). The kinds'
    handles (:class:`StagedAgentVersion`, :class:`StagedRetryPolicy`) say how.
    """

    def __init__(self, env: simpy.Environment, exposed: Exposed) -> None:
        self.env = env
        self._exposed = exposed

    @property
    def served(self) -> list[str]:
        """Nonces the live version answered (or the bus or gate served under it) so far."""
        return self._exposed.served

    @property
    def cohort(self) -> frozenset[str]:
        """The tenants the change is exposed to now."""
        return self._exposed.cohort

    @property
    def exposure(self) -> Exposure:
        """How the change meets its cohort's traffic now."""
        return cast(Exposure, self._exposed.mode)

    def on_shadow(self, listener: Callable[[ShadowAnswer], None] | None) -> None:
        """Tell ``listener`` of every intent the shadow works out from now on."""

    def served_since(self, start: int) -> list[str]:
        """Nonces the live version answered, from the ``start``-th on, in order."""
        return self.served[start:]

    def expose(self, tenants: Collection[str], exposure: Exposure, at: float | None = None) -> None:
        """From now (or from virtual time ``at``, if later), answer the intents ``tenants``
        send with the change (``live``), work the change's answer out beside the agent's
        own (``shadow``), or not at all (``off``). Raises ValueError for an exposure the
        kind does not have."""
        self._check(exposure)
        cohort = frozenset(tenants)
        env = self.env
        if at is not None and at > env.now:
            env.timeout(at - env.now).callbacks.append(lambda _event: self._set(cohort, exposure))
            return
        self._set(cohort, exposure)

    def _check(self, exposure: Exposure) -> None:
        """Refuse an exposure this kind of change does not have."""

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        raise NotImplementedError

    def roll_back(self, at: float | None = None) -> None:
        """Stop exposing the change from now (or from ``at``): every later intent gets the
        agent's own version."""
        self.expose((), "off", at)


class StagedAgentVersion(StagedChange):
    """An ``agent_version`` change: the agent answers its cohort's intents as the variant."""

    def __init__(self, change: AgentVersionChange, agent: Agent, streams: Streams) -> None:
        spec = agent.spec
        self.change = change
        self.agent = agent
        self.variant = Variant(streams(f"change:{change.agent}:{change.version}"), change.latency,
                               change.latency_factor,
                               spec.failure_rate if change.failure_rate is None else change.failure_rate,
                               spec.failure_code if change.failure_code is None else change.failure_code,
                               spec.async_accept if change.async_accept is None else change.async_accept)
        agent.variant = self.variant
        super().__init__(agent.env, self.variant)

    def on_shadow(self, listener: Callable[[ShadowAnswer], None] | None) -> None:
        """Tell ``listener`` of every intent the shadow works out from now on."""
        self.variant.shadowed = listener

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        self.variant.cohort = cohort
        self.variant.mode = exposure


class StagedRetryPolicy(StagedChange):
    """A ``retry_policy`` change: the bus pins each new intent a cohort tenant sends the
    agent to the change's policy and guards while it is live. It has no shadow."""

    def __init__(self, change: RetryPolicyChange, bus: Bus, streams: Streams) -> None:
        self.audience = Audience()
        super().__init__(bus.env, self.audience)
        self.change = change
        self.policy: RetryPolicy | None = None
        self.max_retries = bus.max_retries
        if change.retry_policy is not None:
            stream = streams(f"change:retry:{change.agent}:{change.version}")
            self.policy, self.max_retries = preset_retry(change.retry_policy, bus.max_retries, stream)
        guarded = change.retry_budget is not None or change.circuit_breaker is not None
        #: The change's own retry budgets and circuit breakers (None: the bus's guards).
        self.guards = PairGuards(budget_maker(change.retry_budget),
                                 breaker_maker(change.circuit_breaker)) if guarded else None
        self._pin = Pin(self.policy, self.max_retries, self.guards)
        bus.seam = RetrySeam(self._choose)

    def _choose(self, msg: BusMessage) -> Pin | None:
        audience = self.audience
        if audience.mode != "live" or msg.recipient != self.change.agent or tenant_of(msg.sender) not in audience.cohort:
            return None
        audience.served.append(msg.nonce)
        return self._pin

    def _check(self, exposure: Exposure) -> None:
        if exposure == "shadow":
            raise ValueError(f"a retry_policy change has no shadow (retries cannot be mirrored and discarded): "
                             f"expose {self.change.agent} version {self.change.version} live or off")

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        self.audience.cohort = cohort
        self.audience.mode = exposure
