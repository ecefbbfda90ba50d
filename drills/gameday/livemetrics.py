"""``GET /metrics``: the world's ``beamdrill_*`` families as a live Prometheus exposition.

The same collector the runs' ``metrics.om`` scrapes (:class:`~simulator.telemetry.metrics.WorldCollector`),
read now and written in Prometheus' text format without timestamps: the Prometheus that
scrapes it stamps the samples with its own (wall) clock.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from simulator.telemetry.metrics import WorldCollector, latency_histogram
from simulator.world import World

#: The exposition's content type (Prometheus text format 0.0.4).
CONTENT_TYPE = CONTENT_TYPE_LATEST


class LiveMetrics:
    """The world's collector in a registry of its own, exposed on demand."""

    def __init__(self, world: World) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(WorldCollector(world, latency_histogram(world.directory)))

    def exposition(self) -> bytes:
        """Every family, read now."""
        return generate_latest(self.registry)
