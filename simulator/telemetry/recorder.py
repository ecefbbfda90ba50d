"""A virtual Prometheus scraper: the world's metrics sampled every few virtual seconds into
a compact store, and written as OpenMetrics text at the end of a run."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Generator, TextIO

import simpy
from prometheus_client.registry import CollectorRegistry

from simulator.telemetry.metrics import WorldCollector, latency_histogram
from simulator.telemetry.openmetrics import Layout, SampleStore

if TYPE_CHECKING:
    from simulator.world import World


class MetricsRecorder:
    """A virtual Prometheus scraper: samples ``registry`` (the world's by default) now and
    then every ``interval`` virtual seconds, keeping the samples in a compact store.

    Call :meth:`finish` when the run ends so the last values are recorded, then
    :meth:`write_openmetrics`. Scraping adds events to the SimPy queue but draws no
    random numbers and changes no state, so a run's results are the same with or without.
    """

    def __init__(self, world: World, interval: float = 15.0, *, registry: CollectorRegistry | None = None) -> None:
        if not math.isfinite(interval) or interval <= 0:
            raise ValueError(f"interval must be a positive number of seconds, not {interval}")
        self.world = world
        self.interval = interval
        self.store = SampleStore()
        self._snapshot: Callable[[], tuple[Layout, list[float]]] | None = None
        if registry is None:
            collector = WorldCollector(world, latency_histogram(world.directory))
            registry = CollectorRegistry()
            registry.register(collector)
            self._snapshot = collector.snapshot  # the registry's only collector: read it directly
        self.registry = registry
        self.sample()
        self.process: simpy.Process = world.env.process(self._scrape())

    def _scrape(self) -> Generator[simpy.Event, Any, None]:
        timeout = self.world.env.timeout
        while True:
            yield timeout(self.interval)
            self.sample()

    def sample(self) -> None:
        """Scrape the registry now (a second scrape at the same virtual time replaces the first)."""
        if self._snapshot is not None:
            self.store.record_values(self.world.env.now, *self._snapshot())
        else:
            self.store.record(self.world.env.now, self.registry.collect())

    def finish(self) -> None:
        """Take the final scrape at the current virtual time."""
        self.sample()

    def write_openmetrics(self, stream: TextIO, epoch_s: float, more: str = "") -> int:
        """Write every scrape as OpenMetrics text for ``promtool tsdb create-blocks-from
        openmetrics``: timestamps ``epoch_s + virtual time`` in seconds, then ``more``
        (whole families of series kept elsewhere), ``# EOF`` last. Return the number of
        scraped samples written."""
        return self.store.write(stream, epoch_s, more)
