"""Changes a rollout ships, and a change staged in a world for a cohort of tenants.

A change (:data:`Change`) is what a canary rollout exposes to some tenants and not others:

- ``agent_version``, a new version of an agent: its latency, failure rate, failure code and
  async acceptance override the agent's own for the intents that the cohort's tenants send it;
- ``retry_policy``, a bus retry preset (:mod:`simulator.scenario.policies`) for the intents
  the cohort's tenants send the agent over the bus: each is pinned, when the bus accepts it,
  to the change's policy and retries (:mod:`simulator.beam.retryseam`). A retry policy has
  no shadow: its effect is the retries themselves, which cannot be mirrored and discarded.

:class:`StagedChange` is a change's handle in a running world: expose it (live, or as a
shadow where the kind has one) to a set of tenants from now on, or roll it back.
"""

from __future__ import annotations

from typing import Annotated, Callable, Collection, Literal, Union

import simpy
from pydantic import Field

from simulator.beam.agents import Agent, ShadowAnswer, Variant
from simulator.beam.bus import Bus
from simulator.beam.busrows import BusMessage
from simulator.beam.retry import RetryPolicy
from simulator.beam.retryseam import RetrySeam
from simulator.kernel.fields import BeamId, Model, NonEmpty, Probability
from simulator.kernel.rng import Streams
from simulator.policies import preset_retry
from simulator.scenario.parts import latency_field
from simulator.scenario.policies import BeamRetry, RetryPolicySpec
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
    """A bus retry policy for the intents the cohort's tenants send ``agent`` over the bus:
    ``retry_policy`` is a preset, by name or with its knobs, as ``bus.retry_policy``
    (``beam`` keeps the bus's ``max_retries``). Jittered presets draw from a stream of the
    change's own, so the baseline's draws are untouched."""

    kind: Literal["retry_policy"]
    agent: BeamId
    version: NonEmpty = "canary"
    retry_policy: RetryPolicySpec

    def describe(self) -> str:
        """One line saying what the change does."""
        chosen = self.retry_policy
        knobs = {} if isinstance(chosen, BeamRetry) else chosen.model_dump(exclude={"preset"})
        text = ", ".join(f"{name} {value:g}" for name, value in knobs.items() if isinstance(value, (int, float)))
        return f"bus retries to {self.agent} version {self.version}: {chosen.preset}" + (f" ({text})" if text else "")


#: Every kind of change a rollout may ship, told apart by ``kind``.
Change = Annotated[Union[AgentVersionChange, RetryPolicyChange], Field(discriminator="kind")]


class StagedChange:
    """A change installed in a world, exposed to nobody until :meth:`expose` says so.

    ``served`` holds the nonces its live version answered; ``on_shadow`` is told of every
    intent a shadow worked out without answering it (:class:`ShadowAnswer`). The kinds'
    handles (:class:`StagedAgentVersion`, :class:`StagedRetryPolicy`) say how.
    """

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env

    @property
    def served(self) -> list[str]:
        """Nonces the live version answered so far."""
        raise NotImplementedError

    @property
    def cohort(self) -> frozenset[str]:
        """The tenants the change is exposed to now."""
        raise NotImplementedError

    @property
    def exposure(self) -> Exposure:
        """How the change meets its cohort's traffic now."""
        raise NotImplementedError

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
        super().__init__(agent.env)
        spec = agent.spec
        self.change = change
        self.agent = agent
        self.variant = Variant(streams(f"change:{change.agent}:{change.version}"), change.latency,
                               change.latency_factor,
                               spec.failure_rate if change.failure_rate is None else change.failure_rate,
                               spec.failure_code if change.failure_code is None else change.failure_code,
                               spec.async_accept if change.async_accept is None else change.async_accept)
        agent.variant = self.variant

    @property
    def served(self) -> list[str]:
        """Nonces the live version answered so far."""
        return self.variant.served

    @property
    def cohort(self) -> frozenset[str]:
        """The tenants the change is exposed to now."""
        return self.variant.cohort

    @property
    def exposure(self) -> Exposure:
        """How the change meets its cohort's traffic now."""
        mode: Exposure = self.variant.mode  # type: ignore[assignment]
        return mode

    def on_shadow(self, listener: Callable[[ShadowAnswer], None] | None) -> None:
        """Tell ``listener`` of every intent the shadow works out from now on."""
        self.variant.shadowed = listener

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        self.variant.cohort = cohort
        self.variant.mode = exposure


class StagedRetryPolicy(StagedChange):
    """A ``retry_policy`` change: the bus pins each new intent a cohort tenant sends the
    agent to the change's policy while it is live. It has no shadow."""

    def __init__(self, change: RetryPolicyChange, bus: Bus, streams: Streams) -> None:
        super().__init__(bus.env)
        self.change = change
        stream = streams(f"change:retry:{change.agent}:{change.version}")
        self.policy: RetryPolicy
        self.policy, self.max_retries = preset_retry(change.retry_policy, bus.max_retries, stream)
        self._cohort: frozenset[str] = frozenset()
        self._mode: Exposure = "off"
        self._served: list[str] = []
        bus.seam = RetrySeam(self._choose)

    def _choose(self, msg: BusMessage) -> tuple[RetryPolicy, int] | None:
        if self._mode != "live" or msg.recipient != self.change.agent or tenant_of(msg.sender) not in self._cohort:
            return None
        self._served.append(msg.nonce)
        return self.policy, self.max_retries

    @property
    def served(self) -> list[str]:
        """Nonces the bus accepted under the change's policy so far."""
        return self._served

    @property
    def cohort(self) -> frozenset[str]:
        """The tenants the change is exposed to now."""
        return self._cohort

    @property
    def exposure(self) -> Exposure:
        """How the change meets its cohort's traffic now."""
        return self._mode

    def _check(self, exposure: Exposure) -> None:
        if exposure == "shadow":
            raise ValueError(f"a retry_policy change has no shadow (retries cannot be mirrored and discarded): "
                             f"expose {self.change.agent} version {self.change.version} live or off")

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        self._cohort = cohort
        self._mode = exposure
