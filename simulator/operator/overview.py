"""The intent part of the overview summary (:class:`Overview`), apart from
:mod:`simulator.operator.observations`, which is compiled: mypyc cannot compile a pydantic model."""

from __future__ import annotations

from simulator.operator.api import ApiModel


class Overview(ApiModel):
    """The intent part of the ``GET /observability/overview`` summary (§9.2) for the window."""

    window_hours: int
    total_intents: int
    success_count: int
    error_count: int
    in_flight_count: int
    avg_latency_ms: float | None
    p95_latency_ms: int | None
    success_rate: float
    in_flight_older_than_15m: int
