"""Bounded memory for finished rows.

Beam keeps every row forever. A simulated day at ten intents a second would then hold a
million rows, so a store forgets a finished row once it has been finished for the
retention horizon: the row leaves its index and is counted in :attr:`compacted` by its
final state. Counts, stats and conservation stay exact; only looking the row up (a resend
of its nonce, an ack of its id) behaves as if it never existed.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Collection

import simpy

from simulator.kernel.events import EventStream
from simulator.kernel.row import LifecycleRow


class Retention:
    """Forgets rows in ``forgettable`` states once they finished ``horizon`` seconds ago.

    Finished rows are kept in buckets a tenth of the horizon wide; a whole bucket is
    purged at once, so a row is forgotten between 1.0 and 1.1 horizons after it finished.
    """

    __slots__ = ("env", "events", "path", "horizon", "index", "forgettable", "forget", "compacted",
                 "_buckets", "_current", "_bucket_end", "_width")

    def __init__(
        self,
        env: simpy.Environment,
        events: EventStream,
        path: str,
        horizon: float | None,
        index: dict[str, Any],
        forgettable: Collection[str],
        forget: Callable[[Any], None] | None = None,
    ) -> None:
        self.env = env
        self.events = events
        self.path = path
        self.horizon = horizon
        self.index = index
        self.forgettable = frozenset(forgettable)
        self.forget = forget
        self.compacted: dict[str, int] = {}
        self._width = horizon / 10 if horizon else 0.0
        self._current: list[LifecycleRow] = []
        self._bucket_end = self._width
        self._buckets: deque[tuple[float, list[LifecycleRow]]] = deque()

    def finished(self, row: LifecycleRow) -> None:
        """Note that ``row`` just finished (its ``finished_at`` is now)."""
        if self.horizon is None:
            return
        now = self.env.now
        if now >= self._bucket_end:
            self._rotate(now)
        self._current.append(row)

    def _rotate(self, now: float) -> None:
        self._buckets.append((self._bucket_end, self._current))
        self._current = []
        self._bucket_end = (now // self._width + 1) * self._width
        assert self.horizon is not None
        cutoff = now - self.horizon
        index, forgettable, forget, compacted = self.index, self.forgettable, self.forget, self.compacted
        while self._buckets and self._buckets[0][0] <= cutoff:
            _, rows = self._buckets.popleft()
            for row in rows:
                finished_at = row.finished_at
                if finished_at is None or finished_at > cutoff or row.status not in forgettable:
                    continue  # it started over since; a later bucket holds it
                if index.get(row.nonce) is not row:
                    continue
                del index[row.nonce]
                if forget is not None:
                    forget(row)
                compacted[row.status] = compacted.get(row.status, 0) + 1
                if self.events.active:
                    self.events.emit("forgotten", row.nonce, path=self.path, status=row.status)

    def compact(self, row: LifecycleRow) -> None:
        """Forget ``row`` now, as an operator's prune does: it leaves the index and is
        counted in :attr:`compacted` exactly like a row the horizon compacted."""
        if self.index.get(row.nonce) is not row:
            raise KeyError(f"{self.path}: row {row.nonce!r} is not held")
        del self.index[row.nonce]
        if self.forget is not None:
            self.forget(row)
        self.compacted[row.status] = self.compacted.get(row.status, 0) + 1
        if self.events.active:
            self.events.emit("forgotten", row.nonce, path=self.path, status=row.status)

    def held(self) -> int:
        """Return how many finished rows are still held for later compaction."""
        return len(self._current) + sum(len(rows) for _, rows in self._buckets)
