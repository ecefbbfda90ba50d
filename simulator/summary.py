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


class HistoryExample(BaseModel):
    """One intent of a history anomaly: who sent it to whom on which path, when it was sent,
    its row's last status and since when, and how often (and first when) it was processed."""

    nonce: str
    sender: str | None
    recipient: str | None
    path: str | None
    sent_at: float | None
    status: str | None
    status_at: float | None
    runs: int
    run_times: list[float]


class HistoryReport(BaseModel):
    """The delivery history (:mod:`simulator.history`): every attempted intent in one
    outcome (``ok`` ... ``in_flight``), the anomalies, validity and up to a few examples
    of each anomaly."""

    valid: bool
    attempted: int
    acknowledged: int
    ok: int
    lost: int
    recovered: int
    failed: int
    dead_lettered: int
    refused: int
    in_flight: int
    duplicated: int
    duplicate_runs: int
    unexpected: int
    problems: list[str]
    examples: dict[str, list[HistoryExample]]


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
    #: The delivery history; None when the run did not check it.
    history: HistoryReport | None = None
