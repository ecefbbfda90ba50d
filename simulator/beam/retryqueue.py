"""The bus worker's view of ``status='queued'`` rows (beam-model §4.5): the rows due by
``next_retry_at``, taken ``ORDER BY priority DESC, created_at ASC`` a batch at a time."""

from __future__ import annotations

import heapq

from simulator.beam.busrows import BusMessage


class RetryQueue:
    """Queued bus rows by when they are due, and those already due by (priority desc,
    created_at asc). An entry is live while its row is still queued under the schedule it
    was put in with (the row's ``queue_seq``); stale entries are dropped when met, so a row
    rescheduled, acked or failed meanwhile needs no removal."""

    __slots__ = ("_due", "_ready", "_seq")

    def __init__(self) -> None:
        self._due: list[tuple[float, int, BusMessage]] = []
        self._ready: list[tuple[int, float, int, BusMessage]] = []
        self._seq = 0

    def put(self, msg: BusMessage, at: float) -> None:
        """Queue ``msg`` to be due at ``at``, superseding any earlier schedule of it."""
        self._seq += 1
        msg.queue_seq = self._seq
        heapq.heappush(self._due, (at, self._seq, msg))

    def take(self, now: float, limit: int) -> list[tuple[BusMessage, int]]:
        """Up to ``limit`` queued rows due by ``now``, each with the schedule it was taken
        under. They stay queued until attempted: a later call may take them again."""
        due, ready = self._due, self._ready
        while due and due[0][0] <= now:
            _, seq, msg = heapq.heappop(due)
            if msg.queue_seq == seq and msg.status == "queued":
                heapq.heappush(ready, (-msg.priority, msg.created_at, seq, msg))
        taken: list[tuple[int, float, int, BusMessage]] = []
        while ready and len(taken) < limit:
            entry = heapq.heappop(ready)
            msg = entry[3]
            if msg.queue_seq == entry[2] and msg.status == "queued":
                taken.append(entry)
        for entry in taken:
            heapq.heappush(ready, entry)
        return [(entry[3], entry[2]) for entry in taken]

    def clear(self) -> None:
        """Forget every entry (the rows were replaced)."""
        self._due.clear()
        self._ready.clear()
