"""Beam's intent lifecycle: states, the two transition tables, outcome buckets and the guard.

Every state change in the world goes through :class:`Ledger.move`, which enforces the
transition table of its path (beam-model §2.2) and keeps the per-state counts that the
conservation check compares against the stores at the end of a run.
"""

from __future__ import annotations

from typing import Callable, Final, Literal

from simulator.kernel.illegal import IllegalTransition
from simulator.kernel.row import LifecycleRow

Path = Literal["bus", "directory"]

STATES: Final[tuple[str, ...]] = (
    "received",
    "validated",
    "queued",
    "dispatched",
    "delivered",
    "acked",
    "failed",
    "dead_letter",
)

_DIRECTORY_NEXT: Final[dict[str, frozenset[str]]] = {
    "received": frozenset({"validated", "queued", "failed", "dead_letter"}),
    "validated": frozenset({"queued", "dispatched", "failed", "dead_letter"}),
    "queued": frozenset({"dispatched", "failed", "dead_letter"}),
    "dispatched": frozenset({"queued", "delivered", "failed", "dead_letter"}),
    "delivered": frozenset({"acked", "failed", "queued", "dead_letter"}),
    "acked": frozenset(),
    "failed": frozenset({"queued"}),
    "dead_letter": frozenset({"queued"}),
}

# The bus skips `validated`, so it may go straight from received to dispatched.
_BUS_NEXT: Final[dict[str, frozenset[str]]] = {
    **_DIRECTORY_NEXT,
    "received": _DIRECTORY_NEXT["received"] | {"dispatched"},
}

#: Next-state sets per path, each state also allowed to repeat itself.
TRANSITIONS: Final[dict[str, dict[str, frozenset[str]]]] = {
    path: {state: nexts | {state} for state, nexts in table.items()}
    for path, table in (("directory", _DIRECTORY_NEXT), ("bus", _BUS_NEXT))
}

#: The only state an intent may start in, on both paths.
INITIAL_STATE: Final[str] = "received"

BUCKETS: Final[tuple[str, ...]] = ("success", "error", "in_flight")


def bucket(state: str) -> str:
    """Return the outcome bucket of a state (§2.3): success, error or in_flight."""
    if state == "acked":
        return "success"
    if state in ("failed", "dead_letter"):
        return "error"
    return "in_flight"


def is_terminal(state: str) -> bool:
    """Return True when the state's bucket is not in_flight."""
    return bucket(state) != "in_flight"


def is_allowed(previous: str | None, next: str, path: str = "bus") -> bool:
    """Return True when ``previous → next`` is a legal change on ``path``.

    ``previous=None`` means the intent has no state yet; only ``received`` may start it.
    """
    table = TRANSITIONS.get(path)
    if table is None:
        raise ValueError(f"path must be 'bus' or 'directory', not {path!r}")
    if next not in table:
        return False
    if previous is None:
        return next == INITIAL_STATE
    allowed = table.get(previous)
    return allowed is not None and next in allowed


#: Called on every state change: (nonce, previous state or None, next state, forced).
TransitionHook = Callable[[str, "str | None", str, bool], None]


class Ledger:
    """Guards and counts the lifecycle of every intent on one path.

    ``accepted`` counts intents admitted; ``counts`` holds how many are in each state
    right now. Their sum plus the intents a restore from a backup dropped
    (:attr:`lost_in_restore`, by nonce) always equals ``accepted``: nothing is created or
    lost except through :meth:`admit`, :meth:`move` and a restore.

    ``journal``, None unless backups are taken, lists every nonce admitted, in order: a
    backup remembers its length, and a restore from it names what was admitted since.
    """

    __slots__ = ("path", "accepted", "counts", "hook", "lost_in_restore", "journal", "_table")

    def __init__(self, path: Path, hook: TransitionHook | None = None) -> None:
        self.path: Path = path
        self.accepted = 0
        self.counts: dict[str, int] = dict.fromkeys(STATES, 0)
        self.hook = hook
        #: Nonces of the intents restores dropped (admitted after the backup restored).
        self.lost_in_restore: list[str] = []
        self.journal: list[str] | None = None
        self._table = TRANSITIONS[path]

    def admit(self, item: LifecycleRow, then: str | None = None) -> None:
        """Start tracking ``item`` in the initial state, and move it on to ``then`` if given."""
        self.accepted += 1
        if self.journal is not None:
            self.journal.append(item.nonce)
        item.status = INITIAL_STATE
        if self.hook is not None:
            self.counts[INITIAL_STATE] += 1
            self.hook(item.nonce, None, INITIAL_STATE, False)
            if then is not None:
                self.move(item, then)
        elif then is None:
            self.counts[INITIAL_STATE] += 1
        elif then in self._table[INITIAL_STATE]:
            self.counts[then] += 1
            item.status = then
        else:
            self.counts[INITIAL_STATE] += 1
            raise IllegalTransition(item.nonce, self.path, INITIAL_STATE, then)

    def move(self, item: LifecycleRow, next: str) -> None:
        """Change ``item``'s state to ``next``, or raise :class:`IllegalTransition`."""
        previous = item.status
        if next not in self._table[previous]:
            raise IllegalTransition(item.nonce, self.path, previous, next)
        counts = self.counts
        counts[previous] -= 1
        counts[next] += 1
        item.status = next
        if self.hook is not None:
            self.hook(item.nonce, previous, next, False)

    def force(self, item: LifecycleRow, next: str) -> None:
        """Set ``item``'s state without the table check.

        Only Beam's as-coded quirks use this, to reproduce its raw SQL updates of
        ``intent_log.status`` (a reset to ``received``, a late reconciliation); the change
        is counted and emitted like any other, marked as forced.
        """
        previous = item.status
        self.counts[previous] -= 1
        self.counts[next] += 1
        item.status = next
        if self.hook is not None:
            self.hook(item.nonce, previous, next, True)

    def restore(self, counts: dict[str, int], lost: list[str]) -> None:
        """Replace the per-state counts with a backup's and record the nonces the restore
        dropped; ``accepted`` keeps counting every intent ever admitted."""
        self.counts.update(counts)  # in place: readers hold this dict
        self.lost_in_restore[:] = lost

    def buckets(self) -> dict[str, int]:
        """Return the counts per outcome bucket."""
        totals = dict.fromkeys(BUCKETS, 0)
        for state, count in self.counts.items():
            totals[bucket(state)] += count
        return totals
