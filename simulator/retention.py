"""Bounded memory for finished rows.

Beam keeps every row forever. A simulated day at ten intents a second would then hold a
million rows, so a store forgets a finished row once it has been finished for the
retention horizon: the row leaves the nonce index and is counted in :attr:`compacted`
by its final state. Counts, stats and conservation stay exact; only looking the row up
(a resend of its nonce, an ack of its id) behaves as if it never existed.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Protocol

import simpy


class Row(Protocol):
    """A store row: a nonce, a status and a generation bumped whenever it starts over."""

    nonce: str
    status: str
    generation: int


class Retention:
    """Forgets rows ``horizon`` virtual seconds after they finished (never, if None)."""

    __slots__ = ("env", "horizon", "index", "forget", "compacted", "_finished")

    def __init__(
        self,
        env: simpy.Environment,
        horizon: float | None,
        index: dict[str, Any],
        forget: Callable[[Any], None] | None = None,
    ) -> None:
        self.env = env
        self.horizon = horizon
        self.index = index
        self.forget = forget
        self.compacted: dict[str, int] = {}
        self._finished: deque[tuple[float, Row, str, int]] = deque()

    def finished(self, row: Row) -> None:
        """Note that ``row`` reached a state it may be forgotten in, and purge old rows."""
        if self.horizon is None:
            return
        now = self.env.now
        finished = self._finished
        finished.append((now, row, row.status, row.generation))
        cutoff = now - self.horizon
        while finished and finished[0][0] <= cutoff:
            _, old, status, generation = finished.popleft()
            if old.status != status or old.generation != generation:
                continue  # it started over since; a later entry covers it
            if self.index.get(old.nonce) is not old:
                continue
            del self.index[old.nonce]
            if self.forget is not None:
                self.forget(old)
            self.compacted[status] = self.compacted.get(status, 0) + 1

    def live(self) -> int:
        """Return how many finished rows are still held."""
        return len(self._finished)
