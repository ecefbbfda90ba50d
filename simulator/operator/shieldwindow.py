"""Shield holds and rejects inside a sliding window, as ``shield-review-load`` counts them.

Beam counts ``shield_audit_log`` rows with decision ``reject`` or ``hold`` created in the
window (beam-model §9.3), and a new row for a nonce deletes that nonce's older rows (§8),
so a frame retried with its nonce counts once. :class:`ShieldWindow` appends the time of
each flagged row to one array per decision (8 bytes a row) and counts lazily: the rows
after the window's start, less those replaced. The row a new one replaces is the one
Shield itself still holds for the nonce (:attr:`Shield.latest
<simulator.beam.shield.Shield.latest>`, kept while the nonce's intent row is), which the
directory looks up before Shield records the new row. Rows without a nonce (the
middleware's rejections) are never replaced. Windows are compared in whole milliseconds.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from simulator.beam.shield import Shield, ShieldRow

_NEVER: Final[int] = -(1 << 62)
_FLAGGED: Final[tuple[str, str]] = ("hold", "reject")


def _ms(time: float) -> int:
    """:func:`~simulator.kernel.units.to_ms` for the non-negative times of Shield rows,
    compiled with this module."""
    return int(time * 1000.0 + 0.5)


class _Times:
    """The creation times of one decision's rows, oldest first, with the replaced ones."""

    __slots__ = ("times", "head", "replaced", "replaced_total")

    def __init__(self) -> None:
        self.times: array[float] = array("d")
        self.head = 0
        self.replaced: dict[float, int] = {}  # time → rows at that time deleted by a newer row
        self.replaced_total = 0

    def count(self) -> int:
        return len(self.times) - self.head - self.replaced_total

    def replace(self, time: float) -> None:
        self.replaced[time] = self.replaced.get(time, 0) + 1
        self.replaced_total += 1

    def expire(self, cutoff: int) -> None:
        """Drop the rows created before ``cutoff`` ms."""
        times, head, replaced = self.times, self.head, self.replaced
        end = len(times)
        if head == end or _ms(times[head]) >= cutoff:
            return
        while head < end and _ms(times[head]) < cutoff:
            time = times[head]
            left = replaced.get(time)
            if left:
                if left == 1:
                    del replaced[time]
                else:
                    replaced[time] = left - 1
                self.replaced_total -= 1
            head += 1
        if head > 65_536 and head * 2 > end:
            del times[:head]
            head = 0
        self.head = head


class ShieldWindow:
    """Shield holds and rejects created since the cutoff, over the rows ``shield`` records."""

    __slots__ = ("shield", "_holds", "_rejects", "_cutoff")

    def __init__(self, shield: Shield | None = None) -> None:
        self.shield = shield
        self._holds = _Times()
        self._rejects = _Times()
        self._cutoff = _NEVER

    @property
    def counts(self) -> tuple[int, int]:
        """(holds, rejects) inside the window, as of the last :meth:`advance`."""
        return self._holds.count(), self._rejects.count()

    def add(self, row: ShieldRow, previous: ShieldRow | None = None) -> None:
        """Note a new Shield row; ``previous`` is the row Shield held for the same nonce
        before it, which the new row deletes (a ``pass`` only deletes)."""
        if previous is not None and row.nonce is not None and previous.decision in _FLAGGED:
            if _ms(previous.time) >= self._cutoff:
                (self._holds if previous.decision == "hold" else self._rejects).replace(previous.time)
        decision = row.decision
        if decision == "pass":
            return
        (self._holds if decision == "hold" else self._rejects).times.append(row.time)

    def advance(self, cutoff: int) -> None:
        """Drop the rows created before ``cutoff`` (virtual milliseconds)."""
        if cutoff <= self._cutoff:
            return
        self._cutoff = cutoff
        self._holds.expire(cutoff)
        self._rejects.expire(cutoff)

    def newest_nonces(self, limit: int = 3) -> list[str]:
        """Nonces of the newest flagged rows with a nonce inside the window (``created_at
        DESC``), among the rows Shield still lists (its newest 10 000) and still holds as
        its nonce's newest row."""
        found: list[str] = []
        if self.shield is None:
            return found
        latest = self.shield.latest
        for row in reversed(self.shield.rows):
            if len(found) == limit or _ms(row.time) < self._cutoff:
                break
            if row.decision != "pass" and row.nonce is not None and latest.get(row.nonce) is row:
                found.append(row.nonce)
        return found
