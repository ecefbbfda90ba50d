"""The conservation check: nothing the world accepted is lost, and every change was legal.

Two independent views are compared at the end of every run: the ledgers' running counts
against a recount of the rows each store still holds (plus the rows retention compacted).
When events are on, :class:`TransitionAudit` replays every transition event on its own
and its per-state totals must match the ledgers too.
"""

from __future__ import annotations

from typing import Iterable

from simulator.beam.bus import Bus
from simulator.beam.directory import Directory
from simulator.kernel.events import Event
from simulator.kernel.lifecycle import STATES, Ledger, is_allowed
from simulator.kernel.retention import Retention


class ConservationError(AssertionError):
    """The world lost, duplicated or illegally moved an intent."""


class HistoryError(ConservationError):
    """The delivery history is invalid: an acknowledged intent was never processed, or a
    recipient processed an intent nobody sent (:mod:`simulator.history`)."""


def recount(ledger: Ledger, statuses: Iterable[str], retention: Retention) -> list[str]:
    """Compare a ledger with the statuses of the rows a store holds; return the problems."""
    held = dict.fromkeys(STATES, 0)
    for status in statuses:
        held[status] += 1
    problems = []
    for state in STATES:
        expected = ledger.counts[state]
        found = held[state] + retention.compacted.get(state, 0)
        if expected != found:
            problems.append(f"{ledger.path}: {expected} intents counted in {state}, {found} rows found")
    lost = len(ledger.lost_in_restore)
    if sum(ledger.counts.values()) + lost != ledger.accepted:
        problems.append(f"{ledger.path}: states sum to {sum(ledger.counts.values())}"
                        f"{f' and {lost} were lost in restore' if lost else ''}, accepted {ledger.accepted}")
    return problems


def restore_losses(*ledgers: Ledger, names: int = 10) -> list[str]:
    """The intents restores from backups dropped, per path, by name (the first ``names``
    of them): accounted, never silent. An empty list when no restore dropped any."""
    lines = []
    for ledger in ledgers:
        lost = ledger.lost_in_restore
        if lost:
            shown = ", ".join(lost[:names]) + (f", ... {len(lost) - names} more" if len(lost) > names else "")
            lines.append(f"{ledger.path}: {len(lost)} intents lost in restore: {shown}")
    return lines


def check_stores(directory: Directory, bus: Bus) -> list[str]:
    """Return every conservation problem of a world's two stores (an empty list when it holds)."""
    problems = recount(directory.ledger, (row.status for row in directory.rows.values()), directory.retention)
    problems += recount(bus.ledger, (msg.status for msg in bus.by_nonce.values()), bus.retention)
    return problems


class TransitionAudit:
    """A sink that checks every transition event against the tables and counts states."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], str] = {}
        self.counts: dict[str, dict[str, int]] = {path: dict.fromkeys(STATES, 0) for path in ("bus", "directory")}
        self.illegal: list[str] = []

    def __call__(self, event: Event) -> None:
        """Record one event; only ``transition``, ``forgotten`` and a restore's events matter."""
        if event.kind == "lost_in_restore":
            # The restore dropped the row: it leaves its state, counted as lost in restore.
            path = event.data["path"]
            previous = self.states.pop((path, event.nonce or ""), None)
            if previous is not None:
                self.counts[path][previous] -= 1
            return
        if event.kind == "store_restored":
            # Rows compacted since the backup are back in its counts: the backup's counts hold.
            self.counts[event.data["path"]] = dict(event.data["counts"])
            return
        if event.kind == "forgotten":
            # The row left its store; a later row with the same nonce starts afresh.
            self.states.pop((event.data["path"], event.nonce or ""), None)
            return
        if event.kind != "transition":
            return
        path = event.data["path"]
        key = (path, event.nonce or "")
        previous = self.states.get(key)
        claimed = event.data["from"]
        nxt = event.data["to"]
        legal = event.data.get("forced") or is_allowed(previous, nxt, path)
        if previous != claimed or not legal:
            self.illegal.append(f"t={event.time}: {path} {event.nonce}: {previous} → {nxt} (event said {claimed})")
        counts = self.counts[path]
        if previous is not None:
            counts[previous] -= 1
        counts[nxt] += 1
        self.states[key] = nxt

    def problems(self, *ledgers: Ledger) -> list[str]:
        """Return illegal moves seen and any mismatch with the world's ledgers."""
        problems = list(self.illegal)
        for ledger in ledgers:
            if self.counts[ledger.path] != ledger.counts:
                problems.append(f"{ledger.path}: events give {self.counts[ledger.path]}, ledger has {ledger.counts}")
        return problems
