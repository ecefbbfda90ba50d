"""``GET /metrics``: the world's ``beamdrill_*`` families as a live Prometheus exposition.

The same collector the runs' ``metrics.om`` scrapes (:class:`~simulator.telemetry.metrics.WorldCollector`),
read now and written in Prometheus' text format without timestamps: the Prometheus that
scrapes it stamps the samples with its own (wall) clock.
"""

from __future__ import annotations

import math
from typing import Callable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from drills.executor.context import DrillContext
from drills.executor.drillseries import DRILL_EVENT, drill_spans
from simulator.telemetry.metrics import WorldCollector, latency_histogram
from simulator.world import World

#: The exposition's content type: Prometheus' text format, as prometheus_client names it.
CONTENT_TYPE = CONTENT_TYPE_LATEST


class LiveMetrics:
    """The world's collector in a registry of its own, exposed on demand."""

    def __init__(self, world: World, more: Callable[[], str] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(WorldCollector(world, latency_histogram(world.directory)))
        self.more = more

    def exposition(self) -> bytes:
        """Every family, read now (then ``more``'s)."""
        text = generate_latest(self.registry)
        return text + self.more().encode() if self.more is not None else text


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def drill_events_now(ctx: DrillContext) -> str:
    """``beamdrill_drill_event{kind, name}`` as metrics.om has it, valued now: 1 while a
    fault lasts and for a minute from an instant fault or an operator action, else 0."""
    now = ctx.world.now
    spans = drill_spans(ctx.fault_log, ctx.performed, math.inf)  # a fault still on has no end yet
    if not spans:
        return ""
    values: dict[tuple[str, str], float] = {}
    for kind, name, start, stop in spans:
        values[(kind, name)] = max(values.get((kind, name), 0.0), 1.0 if start <= now < stop else 0.0)
    lines = [f"# HELP {DRILL_EVENT.name} {DRILL_EVENT.help}", f"# TYPE {DRILL_EVENT.name} gauge"]
    lines += [f'{DRILL_EVENT.name}{{kind="{_label(kind)}",name="{_label(name)}"}} {value}'
              for (kind, name), value in sorted(values.items())]
    return "\n".join(lines) + "\n"
