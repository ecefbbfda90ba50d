"""From a scenario's policy settings to the Beam layer's policy objects: the bus retry
policy with the row limit it reads, and the makers of per-pair retry budgets and circuit
breakers (None while a scenario leaves them off)."""

from __future__ import annotations

import random
from typing import NamedTuple

from simulator.beam.breaker import CircuitBreaker, TransitionListener
from simulator.beam.budget import RetryBudget
from simulator.beam.bus import BreakerMaker, BudgetMaker
from simulator.beam.retry import RetryPolicy, retry_policy
from simulator.scenario.model import BusSpec
from simulator.scenario.policies import (
    BeamRetry, CircuitBreakerSpec, ClientRetrySpec, NoRetrySpec, Preset, RetryBudgetSpec,
)

#: The world's random stream jittered bus retry presets draw from.
BUS_RETRY_STREAM = "retry:bus"
#: The prefix of the streams client retries draw from: ``retry:client:<route label>`` for
#: a route's own client, ``retry:client:<agent id>`` for an agent's.
CLIENT_RETRY_STREAM = "retry:client:"


class BusRetry(NamedTuple):
    """The bus's retry policy and the ``max_retries`` its rows carry (Beam's attempts in all
    for ``beam``, the preset's retries otherwise)."""

    policy: RetryPolicy
    max_retries: int


def bus_retry(spec: BusSpec, stream: random.Random | None = None) -> BusRetry:
    """The retry policy ``spec`` selects, drawing from ``stream`` (the world's
    :data:`BUS_RETRY_STREAM`; none is needed to ask for spans and bounds)."""
    return preset_retry(spec.retry_policy, spec.max_retries, stream)


def preset_retry(chosen: Preset, beam_attempts: int, stream: random.Random | None = None) -> BusRetry:
    """The bus retry policy preset ``chosen`` names, drawing from ``stream``; ``beam`` keeps
    ``beam_attempts`` (the bus's ``max_retries``), the others their own retries."""
    if isinstance(chosen, BeamRetry):
        return BusRetry(retry_policy("beam"), beam_attempts)
    if isinstance(chosen, NoRetrySpec):
        return BusRetry(retry_policy("none", stream), 0)
    knobs = chosen.model_dump(exclude={"preset", "max_retries"})
    return BusRetry(retry_policy(chosen.preset, stream, **knobs), chosen.max_retries)


def client_policy(spec: ClientRetrySpec, stream: random.Random | None = None) -> BusRetry:
    """The client retry policy ``spec`` selects and its retries after the first attempt
    (none for ``none``), drawing from ``stream``."""
    chosen = spec.policy
    if isinstance(chosen, NoRetrySpec):
        return BusRetry(retry_policy("none", stream), 0)
    assert not isinstance(chosen, BeamRetry)  # the schema refuses it for clients
    knobs = chosen.model_dump(exclude={"preset", "max_retries"})
    return BusRetry(retry_policy(chosen.preset, stream, **knobs), chosen.max_retries)


def budget_maker(spec: RetryBudgetSpec | None) -> BudgetMaker | None:
    """A maker of :class:`RetryBudget` with ``spec``'s settings, or None when it is off."""
    if spec is None:
        return None

    def make(now: float) -> RetryBudget:
        return RetryBudget(now, ttl=spec.ttl, min_retries_per_sec=spec.min_retries_per_sec,
                           percent_can_retry=spec.percent_can_retry)

    return make


def breaker_maker(spec: CircuitBreakerSpec | None) -> BreakerMaker | None:
    """A maker of :class:`CircuitBreaker` with ``spec``'s settings, or None when it is off."""
    if spec is None:
        return None

    def make(listener: TransitionListener) -> CircuitBreaker:
        return CircuitBreaker(on_transition=listener, **spec.model_dump())

    return make
