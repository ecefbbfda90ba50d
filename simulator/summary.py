"""What a run reports at its end: lifecycle totals per path, bus and directory activity,
traffic, workflow runs and conservation problems, as pydantic models written into
``result.json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from simulator.traffic import QuoteRun


class PathSummary(BaseModel):
    """Lifecycle totals of one path at the end of a run."""

    accepted: int
    states: dict[str, int]
    buckets: dict[str, int]


class BusSummary(BaseModel):
    """Bus activity beyond the lifecycle counts."""

    attempts: int
    retries: int
    dead_letters: int
    dead_letters_total: int
    requeues: int
    restarts: int
    deduped: int
    rejections_by_code: dict[str, int]
    stats: dict[str, Any]


class DirectorySummary(BaseModel):
    """Directory activity beyond the lifecycle counts."""

    failures_by_code: dict[str, int]
    rejections_by_code: dict[str, int]
    nonce_claims: dict[str, int]
    late_results: int
    relay_errors: int
    stops: list[tuple[float, str]]
    restarts: int
    shield_decisions: dict[str, int]
    audit_actions: dict[str, int]


class Summary(BaseModel):
    """Everything a run reports: per path, bus, directory, workflows and conservation."""

    virtual_seconds: float
    intents_accepted: int
    paths: dict[str, PathSummary]
    bus: BusSummary
    directory: DirectorySummary
    traffic_sent: dict[str, int]
    quote_runs: list[QuoteRun]
    conservation: list[str]
