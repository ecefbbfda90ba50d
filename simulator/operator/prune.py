"""Retention prune of the observability data (beam-model §9.6): admin only, previewed with
``wouldDelete``, done only with the exact confirmation, audited as ``observability.prune``.

Datasets and what they delete, for rows older than ``now − olderThanDays``:

- ``intents``: the directory's finished rows (acked or failed) by ``requested_at``, with
  their traces, and every other trace stage older than the cutoff (``tracesDeleted``). A pruned row is counted like a row retention compacted, so conservation
  still holds (rows still in flight are never pruned: that would lose an intent).
- ``traces``: the trace stages the world keeps (the newest stage of a row, kept only when
  an as-coded trace quirk is on; in documented mode the world keeps none).
- ``audit``: audit rows by time. ``shield``: Shield audit rows by time.

Other stores (an observation store's traces, say) join with :meth:`Pruner.register`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable, Final, Protocol

import simpy

from simulator.operator.api import ApiResult, error, ok, require_role
from simulator.beam.relay import IntentRow

if TYPE_CHECKING:
    from simulator.beam.directory import Directory

PRUNE_DATASETS: Final[tuple[str, ...]] = ("intents", "traces", "audit", "shield")
DEFAULT_RETENTION_DAYS: Final[float] = 30.0
MIN_RETENTION_DAYS: Final[float] = 1.0
DAY: Final[float] = 86400.0
FINISHED: Final[frozenset[str]] = frozenset({"acked", "failed"})
AUDIT_ACTION: Final[str] = "observability.prune"


class Prunable(Protocol):
    """A store that can count and delete what it holds from before a virtual time."""

    def count_before(self, cutoff: float) -> int:
        """How many entries are older than ``cutoff``."""
        ...

    def delete_before(self, cutoff: float) -> int:
        """Delete the entries older than ``cutoff``; return how many."""
        ...


class Pruner:
    """Prune preview and prune for one world's directory stores."""

    def __init__(self, env: simpy.Environment, directory: Directory,
                 on_pruned: Callable[[list[str]], None] | None = None) -> None:
        self.env = env
        self.directory = directory
        self.audit = directory.security.audit
        self.shield = directory.security.shield
        #: Called with the nonces of the intent rows a prune deleted.
        self.on_pruned = on_pruned
        self.stores: dict[str, list[Prunable]] = {dataset: [] for dataset in PRUNE_DATASETS}

    def register(self, dataset: str, store: Prunable) -> None:
        """Prune ``store`` with ``dataset`` (a ``traces`` store is pruned with ``intents`` too)."""
        self.stores[dataset].append(store)

    # -- the endpoints -----------------------------------------------------------------

    def preview(self, dataset: str, older_than_days: float | None = None, *, role: str) -> ApiResult:
        """``GET /observability/prune-preview`` (admin): ``wouldDelete`` for the dataset."""
        checked = self._check(dataset, older_than_days, role)
        if isinstance(checked, ApiResult):
            return checked
        days, cutoff = checked
        return ok({"dataset": dataset, "olderThanDays": days, "cutoff": cutoff,
                   "wouldDelete": self._count(dataset, cutoff)})

    def prune(self, dataset: str, older_than_days: float | None = None, *, confirm_dataset: str | None,
              confirm_phrase: str | None, role: str, actor: str = "admin") -> ApiResult:
        """``POST /observability/prune`` (admin): needs ``confirm_dataset == dataset`` and
        ``confirm_phrase == "prune <dataset>"``, else 400 ``PRUNE_CONFIRMATION_REQUIRED``;
        writes audit ``observability.prune`` with ``olderThanDays`` and ``deleted``."""
        checked = self._check(dataset, older_than_days, role)
        if isinstance(checked, ApiResult):
            return checked
        if confirm_dataset != dataset or confirm_phrase != f"prune {dataset}":
            return error(400, "PRUNE_CONFIRMATION_REQUIRED",
                         f"confirmDataset must be {dataset!r} and confirmPhrase must be 'prune {dataset}'")
        days, cutoff = checked
        body: dict[str, Any] = {"dataset": dataset, "olderThanDays": days, "cutoff": cutoff}
        if dataset == "intents":
            body["deleted"], traces = self._prune_intents(cutoff)
            body["tracesDeleted"] = traces + self._prune_traces(cutoff)
        elif dataset == "traces":
            body["deleted"] = self._prune_traces(cutoff)
        elif dataset == "audit":
            body["deleted"] = self.audit.prune(cutoff) + self._prune_stores("audit", cutoff)
        else:
            body["deleted"] = self._prune_shield(cutoff) + self._prune_stores("shield", cutoff)
        self.audit.write(self.env.now, AUDIT_ACTION, dataset, olderThanDays=days, deleted=body["deleted"],
                         actor=actor, role=role)
        return ok(body)

    # -- helpers -----------------------------------------------------------------------

    def _check(self, dataset: str, older_than_days: float | None, role: str) -> tuple[float, float] | ApiResult:
        refused = require_role(role, "admin")
        if refused is not None:
            return refused
        if dataset not in PRUNE_DATASETS:
            return error(400, "INVALID_PRUNE_DATASET",
                         f"dataset must be one of {', '.join(PRUNE_DATASETS)}, not {dataset!r}")
        if older_than_days is None:
            days = DEFAULT_RETENTION_DAYS
        elif (isinstance(older_than_days, bool) or not isinstance(older_than_days, (int, float))
              or not math.isfinite(older_than_days)):
            return error(400, "INVALID_RETENTION_DAYS", f"olderThanDays must be a number of days, not {older_than_days!r}")
        else:
            days = max(float(older_than_days), MIN_RETENTION_DAYS)
        return days, self.env.now - days * DAY

    def _old_intents(self, cutoff: float) -> list[IntentRow]:
        return [row for row in self.directory.rows.values() if row.status in FINISHED and row.requested_at < cutoff]

    def _old_traces(self, cutoff: float) -> list[IntentRow]:
        return [row for row in self.directory.rows.values()
                if row.trace_newest is not None and row.trace_newest[0] < cutoff]

    def _count(self, dataset: str, cutoff: float) -> int:
        if dataset == "intents":
            count = len(self._old_intents(cutoff))
        elif dataset == "traces":
            count = len(self._old_traces(cutoff))
        elif dataset == "audit":
            count = self.audit.older_than(cutoff)
        else:
            count = sum(1 for row in self.shield.rows if row.time < cutoff)
        return count + sum(store.count_before(cutoff) for store in self.stores[dataset])

    def _prune_intents(self, cutoff: float) -> tuple[int, int]:
        """Delete old finished rows; return (rows, their trace stages) deleted."""
        rows = self._old_intents(cutoff)
        traces = sum(1 for row in rows if row.trace_newest is not None)
        retention = self.directory.retention
        for row in rows:
            retention.compact(row)
        if rows and self.on_pruned is not None:
            self.on_pruned([row.nonce for row in rows])
        return len(rows) + self._prune_stores("intents", cutoff), traces

    def _prune_traces(self, cutoff: float) -> int:
        rows = self._old_traces(cutoff)
        for row in rows:
            row.trace_newest = None
        return len(rows) + self._prune_stores("traces", cutoff)

    def _prune_shield(self, cutoff: float) -> int:
        rows, deleted = self.shield.rows, 0
        while rows and rows[0].time < cutoff:
            rows.popleft()
            deleted += 1
        return deleted

    def _prune_stores(self, dataset: str, cutoff: float) -> int:
        return sum(store.delete_before(cutoff) for store in self.stores[dataset])
