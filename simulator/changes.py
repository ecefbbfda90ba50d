"""Changes a rollout ships, and a change staged in a world for a cohort of tenants.

A change (:data:`Change`) is what a canary rollout exposes to some tenants and not others.
Today's kind is a new version of an agent (``agent_version``): its latency, failure rate,
failure code and async acceptance override the agent's own for the intents that the
cohort's tenants send it. :class:`StagedChange` is its handle in a running world: expose it
(live or as a shadow) to a set of tenants from now on, or roll it back.
"""

from __future__ import annotations

from typing import Annotated, Callable, Collection, Literal

from pydantic import Field

from simulator.beam.agents import Agent, ShadowAnswer, Variant
from simulator.kernel.fields import BeamId, Model, NonEmpty, Probability
from simulator.kernel.rng import Streams
from simulator.scenario.parts import latency_field

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


#: Every kind of change a rollout may ship, told apart by ``kind``.
Change = Annotated[AgentVersionChange, Field(discriminator="kind")]


class StagedChange:
    """A change installed in a world, exposed to nobody until :meth:`expose` says so.

    ``served`` holds the nonces its live version answered; ``on_shadow`` is told of every
    intent a shadow worked out without answering it (:class:`ShadowAnswer`).
    """

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

    def served_since(self, start: int) -> list[str]:
        """Nonces the live version answered, from the ``start``-th on, in order."""
        return self.variant.served[start:]

    def expose(self, tenants: Collection[str], exposure: Exposure, at: float | None = None) -> None:
        """From now (or from virtual time ``at``, if later), answer the intents ``tenants``
        send with the change (``live``), work the change's answer out beside the agent's
        own (``shadow``), or not at all (``off``)."""
        cohort = frozenset(tenants)
        env = self.agent.env
        if at is not None and at > env.now:
            env.timeout(at - env.now).callbacks.append(lambda _event: self._set(cohort, exposure))
            return
        self._set(cohort, exposure)

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        self.variant.cohort = cohort
        self.variant.mode = exposure

    def roll_back(self, at: float | None = None) -> None:
        """Stop exposing the change from now (or from ``at``): every later intent gets the
        agent's own version."""
        self.expose((), "off", at)
