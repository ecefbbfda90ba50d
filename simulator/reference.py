"""A bare-SimPy model of Beam's bus flow, the benchmark's yardstick.

Send → one attempt with a latency and a failure probability → Beam backoff → up to five
attempts → dead letter. One process per message, nothing else: no directory, no
lifecycle guard, no events. The benchmark compares the full world's throughput with it.
"""

from __future__ import annotations

import random
from typing import Any, Generator

import simpy

from simulator.beam.retry import beam_retry_delay


class ReferenceModel:
    """Poisson sends at ``rate`` per second; each attempt fails with ``failure_rate``."""

    def __init__(self, rate: float, failure_rate: float, mean_latency: float = 0.05,
                 max_retries: int = 5, seed: int = 1) -> None:
        self.env = simpy.Environment()
        self.rate = rate
        self.failure_rate = failure_rate
        self.mean_latency = mean_latency
        self.max_retries = max_retries
        self.random = random.Random(seed)
        self.sent = 0
        self.delivered = 0
        self.dead_letters = 0
        self.attempts = 0

    def run(self, intents: int) -> None:
        """Simulate until ``intents`` messages have been sent and every one has settled."""
        self.env.process(self._arrivals(intents))
        self.env.run()

    def _arrivals(self, intents: int) -> Generator[simpy.Event, Any, None]:
        for number in range(intents):
            yield self.env.timeout(self.random.expovariate(self.rate))
            self.sent += 1
            self.env.process(self._message(f"ref-{number}"))

    def _message(self, nonce: str) -> Generator[simpy.Event, Any, None]:
        retry_count = 0
        while True:
            self.attempts += 1
            yield self.env.timeout(self.random.expovariate(1.0 / self.mean_latency))
            if self.random.random() >= self.failure_rate:
                self.delivered += 1
                return
            retry_count += 1
            if retry_count >= self.max_retries:
                self.dead_letters += 1
                return
            yield self.env.timeout(beam_retry_delay(retry_count, nonce))
