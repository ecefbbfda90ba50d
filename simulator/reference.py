"""A bare-SimPy model of the flow a world runs, the benchmark's yardstick.

Senders (one Poisson process per traffic route) → a relay (one attempt: the recipient's
latency, then a failure with the configured probability) → for routes through the bus,
Beam's retry schedule (§4.4, :func:`~simulator.beam.retry.beam_retry_delay`) until
``max_retries`` attempts, then a dead letter; direct (HTTP, WebSocket) sends get their one
attempt. One SimPy process per message, nothing else: no security layers, no Shield, no
lifecycle guard or ledgers, no retention, no timeouts, no events, no operator surfaces.
The benchmark compares the full world's throughput with it on the same routes and rates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Generator

import simpy

from simulator.beam.retry import beam_retry_delay
from simulator.scenario.model import Scenario


@dataclass(frozen=True)
class ReferenceRoute:
    """One sender's traffic: Poisson sends at ``rate`` per second, through the bus or not."""

    rate: float
    via_bus: bool


@dataclass(frozen=True)
class ReferenceFlow:
    """What the reference model runs: its routes, the chance that one attempt fails, the
    mean of the recipients' (exponential) latency, and the bus's attempts before a dead letter."""

    routes: tuple[ReferenceRoute, ...]
    failure_rate: float
    mean_latency: float = 0.05
    max_retries: int = 5


def reference_flow(scenario: Scenario, intents_per_second: float, failure_rate: float) -> ReferenceFlow:
    """The flow of ``scenario``'s traffic routes, their rates scaled together so they send
    ``intents_per_second`` in all (a world's mean rate, daily profile and bursts included),
    with the rate-weighted mean latency of their recipients (0 for one not connected: it
    is refused at once) and the bus's ``max_retries``."""
    routes = scenario.traffic.routes
    total = sum(route.rate for route in routes)
    if total <= 0:
        raise ValueError(f"scenario {scenario.name!r} has no traffic routes to model")
    agents = {agent.id: agent for agent in scenario.agents}
    latency = sum(route.rate * (agents[route.recipient].latency.mean if agents[route.recipient].connected else 0.0)
                  for route in routes) / total
    scale = intents_per_second / total
    return ReferenceFlow(tuple(ReferenceRoute(route.rate * scale, route.via == "bus") for route in routes),
                         failure_rate, latency, scenario.bus.max_retries)


class ReferenceModel:
    """Runs a :class:`ReferenceFlow` on SimPy and counts what became of each message."""

    def __init__(self, flow: ReferenceFlow, seed: int = 1) -> None:
        self.env = simpy.Environment()
        self.flow = flow
        self.random = random.Random(seed)
        self.sent = 0
        self.delivered = 0
        self.failed = 0
        self.dead_letters = 0
        self.attempts = 0
        self.retries = 0

    def run(self, intents: int) -> None:
        """Simulate until ``intents`` messages have been sent and every one has settled."""
        for route in self.flow.routes:
            if route.rate > 0:
                self.env.process(self._sender(route, intents))
        self.env.run()

    def _sender(self, route: ReferenceRoute, intents: int) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(self.random.expovariate(route.rate))
            if self.sent >= intents:
                return
            self.sent += 1
            nonce = f"ref-{self.sent}"
            self.env.process(self._through_bus(nonce) if route.via_bus else self._direct())

    def _relay(self) -> Generator[simpy.Event, Any, bool]:
        """One attempt: the recipient answers after its latency; True if it succeeded."""
        self.attempts += 1
        yield self.env.timeout(self.random.expovariate(1.0 / self.flow.mean_latency)
                               if self.flow.mean_latency > 0 else 0.0)
        return self.random.random() >= self.flow.failure_rate

    def _direct(self) -> Generator[simpy.Event, Any, None]:
        if (yield from self._relay()):
            self.delivered += 1
        else:
            self.failed += 1

    def _through_bus(self, nonce: str) -> Generator[simpy.Event, Any, None]:
        retry_count = 0
        while True:
            if (yield from self._relay()):
                self.delivered += 1
                return
            retry_count += 1
            if retry_count >= self.flow.max_retries:
                self.dead_letters += 1
                return
            self.retries += 1
            yield self.env.timeout(beam_retry_delay(retry_count, nonce))
