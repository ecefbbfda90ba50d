"""The conservation check: nothing the world accepted is lost, and every change was legal.

Two independent views are compared at the end of every run: the ledgers' running counts
against a recount of the rows each store still holds (plus the rows retention compacted).
When events are on, :class:`TransitionAudit` replays every transition event on its own
and its per-state totals must match the ledgers too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from simulator.events import Event
from simulator.lifecycle import STATES, Ledger, is_allowed
from simulator.retention import Retention

if TYPE_CHECKING:
    from simulator.world import World


class ConservationError(AssertionError):
    """The world lost, duplicated or illegally moved an intent."""


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
    if sum(ledger.counts.values()) != ledger.accepted:
        problems.append(f"{ledger.path}: states sum to {sum(ledger.counts.values())}, accepted {ledger.accepted}")
    return problems


def check_world(world: World) -> list[str]:
    """Return every conservation problem of ``world`` (an empty list when it holds)."""
    directory, bus = world.directory, world.bus
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
        """Record one event; only ``transition`` and ``forgotten`` events matter."""
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

    def problems(self, world: World) -> list[str]:
        """Return illegal moves seen and any mismatch with the world's ledgers."""
        problems = list(self.illegal)
        for path, ledger in (("directory", world.directory.ledger), ("bus", world.bus.ledger)):
            if self.counts[path] != ledger.counts:
                problems.append(f"{path}: events give {self.counts[path]}, ledger has {ledger.counts}")
        return problems
