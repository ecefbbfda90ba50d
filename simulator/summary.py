"""What a run reports at its end: lifecycle totals per path, bus and directory activity,
traffic, workflow runs and conservation problems, as pydantic models written into
``result.json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from simulator.quoterun import QuoteRun


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
    #: Accepted intents a restore from a backup dropped and nobody sent again (never "lost").
    lost_in_restore: int = 0
    problems: list[str]
    examples: dict[str, list[HistoryExample]]


class BackupReport(BaseModel):
    """One backup of the two stores: when, what it holds, and its checksums."""

    id: str
    label: str | None
    taken_at: float
    directory_rows: int
    bus_messages: int
    directory_digest: str
    bus_digest: str


class RestoreReport(BaseModel):
    """One restore of the two stores from a backup, and what it cost.

    ``rto_seconds`` is the recovery time: from the disaster (or the restore's start,
    without one) to the first intent served after the restore (acked by the directory,
    or delivered by the bus; None while none was). ``lost`` names, per path, the intents
    the restore dropped (admitted after the backup; a bus intent has a directory row too),
    ``lost_total`` how many intents (nonces) that is; ``recovered_by_retry`` how many of
    them a sender's retry with the same nonce got admitted again since; ``rolled_back``
    how many rows the backup held in an earlier state."""

    backup: str
    backup_taken_at: float
    disaster_at: float | None
    started_at: float
    restored_at: float
    served_at: float | None
    rto_seconds: float | None
    lost: dict[str, list[str]]
    lost_total: int
    recovered_by_retry: int
    rolled_back: dict[str, int]
    digests_match: bool


class RecoveryReport(BaseModel):
    """Backups taken, disasters and restores of a run."""

    backups_taken: int
    backups: list[BackupReport]
    disasters: list[float]
    restores: list[RestoreReport]


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
    #: Backups and restores; None when the run took no backup and had no disaster.
    recovery: RecoveryReport | None = None
