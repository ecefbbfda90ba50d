"""The directory's audit log (beam-model §9.7): what happened, to what, when."""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple


class AuditRow(NamedTuple):
    """One audit row."""

    time: float
    action: str
    target: str | None
    details: dict[str, Any]


class AuditLog:
    """Audit rows, newest last; at most ``keep`` rows are held, every action is counted."""

    def __init__(self, keep: int = 10_000) -> None:
        self.rows: deque[AuditRow] = deque(maxlen=keep)
        self.counts: dict[str, int] = {}

    def write(self, time: float, action: str, target: str | None = None, **details: Any) -> AuditRow:
        """Append a row and return it."""
        row = AuditRow(time, action, target, details)
        self.rows.append(row)
        self.counts[action] = self.counts.get(action, 0) + 1
        return row

    def mentioning(self, text: str, limit: int = 25) -> list[AuditRow]:
        """Rows whose target or details mention ``text``, newest first (§9.5)."""
        found = [row for row in reversed(self.rows)
                 if row.target == text or any(text == str(value) for value in row.details.values())]
        return found[:limit]

    def older_than(self, cutoff: float) -> int:
        """How many held rows were written before virtual time ``cutoff``."""
        return sum(1 for row in self.rows if row.time < cutoff)

    def prune(self, cutoff: float) -> int:
        """Delete the held rows written before ``cutoff``; return how many. ``counts`` keeps
        counting every action ever written."""
        deleted = 0
        while self.rows and self.rows[0].time < cutoff:
            self.rows.popleft()
            deleted += 1
        return deleted
