"""Rate-limit windows on virtual time: Beam's fixed windows (directory) and the bus's
sliding window. Library limiters read the wall clock, so these are written here."""

from __future__ import annotations

from collections import deque
from typing import Final

MINUTE: Final[float] = 60.0


class FixedWindows:
    """Fixed windows per key (``rate_limits`` rows, beam-model §5.2–§5.3).

    A key's window starts at its first hit and resets once ``window_start < now − window``;
    a request over the limit is refused and does not count. :meth:`wipe_older_than` is the
    shared cleanup that deletes rows whose window started long enough ago.
    """

    __slots__ = ("window", "_rows")

    def __init__(self, window: float) -> None:
        self.window = window
        self._rows: dict[str, list[float]] = {}  # key → [window_start, count]

    def hit(self, key: str, limit: int, now: float) -> bool:
        """Count one request for ``key``; return False (and count nothing) if over ``limit``."""
        row = self._rows.get(key)
        if row is None:
            self._rows[key] = [now, 1.0]
            return limit >= 1
        if row[0] < now - self.window:  # a new window, in the key's own row
            row[0], row[1] = now, 1.0
            return limit >= 1
        if row[1] >= limit:
            return False
        row[1] += 1
        return True

    def count(self, key: str, now: float) -> int:
        """Return the requests counted for ``key`` in its current window."""
        row = self._rows.get(key)
        if row is None or row[0] < now - self.window:
            return 0
        return int(row[1])

    def wipe_older_than(self, cutoff: float) -> int:
        """Delete every row whose window started before ``cutoff``; return how many."""
        stale = [key for key, row in self._rows.items() if row[0] < cutoff]
        for key in stale:
            del self._rows[key]
        return len(stale)

    def clear(self) -> None:
        """Forget every window (the state lived in memory and the process restarted)."""
        self._rows.clear()

    def copy(self) -> "FixedWindows":
        """Windows of their own holding what these hold now."""
        twin = FixedWindows(self.window)
        twin._rows = {key: list(row) for key, row in self._rows.items()}
        return twin

    def __len__(self) -> int:
        return len(self._rows)


class SlidingWindow:
    """The bus's per-sender limit: at most ``limit`` accepted sends in any ``window`` seconds."""

    __slots__ = ("window", "_hits")

    def __init__(self, window: float = MINUTE) -> None:
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, limit: int, now: float) -> bool:
        """Count one send for ``key`` unless ``limit`` sends happened in the last window."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and now - hits[0] >= self.window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        hits.append(now)
        return True

    def clear(self) -> None:
        """Forget every window."""
        self._hits.clear()
