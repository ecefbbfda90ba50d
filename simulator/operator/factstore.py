"""The directory-side facts Beam's alerts read (beam-model §9.2, §9.3), kept on virtual time
with bounded memory: the windowed store. The reads over it (the overview, samples, the
backlog) are :class:`~simulator.operator.observations.Observations`.

Beam answers every alert read with SQL over ``intent_log`` and ``shield_audit_log``. The
simulator keeps the same facts as the directory produces them, through four calls the
directory makes to :attr:`Directory.observer <simulator.beam.directory.Directory.observer>`
(not through the event stream, which would cost about 1.4× the run when turned on):

- every finished intent whose ``requested_at`` is inside the window (default 24 h):
  successes as one packed integer each in per-10-second arrays (requested time, latency),
  failures as full rows (they are few and alerts show them); latencies feed an exact
  nearest-rank histogram (:class:`~simulator.kernel.percentile.MsHistogram`);
- the rows in flight, by age: younger than 15 minutes, and older (at any age, the
  backlog alert ignores the window);
- Shield holds and rejects inside the window (:class:`~simulator.operator.shieldwindow.ShieldWindow`).

The hot path only appends: a finished success is one integer appended to its bucket; the
new entries reach the counts and the latency histogram at the next
:meth:`FactStore.advance`, which every reader calls first.

Times are compared in integer milliseconds, as Beam compares its ISO timestamps. A
latency is ``finished − requested_at`` in whole milliseconds
(:func:`~simulator.kernel.units.latency_ms`) for results, ``TIMEOUT`` and restart
recovery; ``OFFLINE`` and a failed WebSocket send have none (``latencyMs: null`` in
Beam's relay, §3.2). Memory is bounded by the window (8 bytes a success, a small record
a failure), not by the length of the run.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from typing import TYPE_CHECKING, Final, Mapping, NamedTuple

import simpy

from simulator.kernel.percentile import BLOCK_SHIFT, FINE_LIMIT, MsHistogram
from simulator.kernel.units import latency_ms, to_ms
from simulator.operator.shieldwindow import ShieldWindow

if TYPE_CHECKING:
    from simulator.beam.relay import IntentRow
    from simulator.beam.shield import Shield, ShieldRow

HOUR_MS: Final[int] = 3_600_000
BACKLOG_AGE_MS: Final[int] = 15 * 60 * 1000
#: Latency from which an intent is a sample of the p95 alert (its threshold).
SLOW_MS: Final[int] = 2000
ERROR_STATES: Final[frozenset[str]] = frozenset({"failed", "dead_letter"})
UNKNOWN_CODE: Final[str] = "UNKNOWN"
_BUCKET_MS: Final[int] = 10_000
_OFFSET_BITS: Final[int] = 14  # a packed success: (latency + 1) << 14 | ms into its bucket
_OFFSET_MASK: Final[int] = (1 << _OFFSET_BITS) - 1
_NEVER: Final[int] = -(1 << 62)


class IntentFact(NamedTuple):
    """One ``intent_log`` row as alerts see it. ``seq`` orders rows like Beam's row id
    (admission order); times are virtual milliseconds."""

    nonce: str
    sender: str
    recipient: str
    intent: str
    requested_ms: int
    seq: int
    status: str
    error_code: str | None
    latency_ms: int | None
    finished_ms: int | None


_IN_FLIGHT: Final[frozenset[str]] = frozenset({"received", "validated", "queued", "dispatched", "delivered"})


class FactStore:
    """The facts of the last ``window_hours`` hours, fed by the directory.

    Call :meth:`advance` before reading: it moves the window to the current virtual time
    and brings the counts up to date. ``rows`` is the directory's row index and ``shield``
    its Shield (Shield samples are looked up there).
    """

    def __init__(self, env: simpy.Environment, rows: Mapping[str, IntentRow], shield: Shield | None = None,
                 window_hours: int = 24) -> None:
        if not 1 <= window_hours <= 24 * 90:
            raise ValueError(f"window_hours must be between 1 and 2160 (Beam clamps 1 h to 90 d), not {window_hours}")
        self.env = env
        self.rows = rows
        self.window_hours = window_hours
        self.window_ms = window_hours * HOUR_MS
        #: As of the last :meth:`advance`: latencies of the rows in the window, successes,
        #: failed rows and their error-code labels.
        self.latencies = MsHistogram(watch=SLOW_MS)
        self.successes = 0
        self.errors = 0
        self.codes: dict[str, int] = {}
        self.shield = ShieldWindow(shield)
        self._cutoff_ms = _NEVER
        self._buckets: dict[int, array[int]] = {}  # requested_ms // 10 s → packed successes
        self._dirty: dict[int, int] = {}  # bucket → index of its first entry not counted yet
        self._bucket_key = -1  # the bucket appended to last, while it is marked dirty
        self._bucket: array[int] = array("q")
        self._swept = 0
        self._slow: list[IntentFact] = []
        self._failed: dict[str, IntentFact] = {}
        self._failed_expiry: list[tuple[int, int, str]] = []
        self._seqs = itertools.count(1)  # Beam's row ids: admission order
        self._first_ms = to_ms(env.now)  # nothing the directory reports is older (see record_finished)
        # Rows in flight → seq: admitted in time order; reset with an earlier (sender's)
        # timestamp; and older than 15 minutes (the backlog).
        self._young: dict[IntentRow, int] = {}
        self._late: dict[IntentRow, int] = {}
        self._old: dict[IntentRow, int] = {}

    # -- what the directory reports (hot path) --------------------------------------------

    def screened(self, row: ShieldRow, previous: ShieldRow | None = None) -> None:
        """Note a Shield row and the row it replaces."""
        self.shield.add(row, previous)

    def admitted(self, row: IntentRow) -> None:
        """Track a new row while it is in flight."""
        self._young[row] = next(self._seqs)
        if self._failed:
            old = self._failed.pop(row.nonce, None)
            if old is not None:  # Beam has one row per nonce: the resend reset that row
                self._drop_failure(old)

    def reopened(self, row: IntentRow) -> None:
        """A failed (or stale in-flight) row was reset by a resend of its nonce."""
        seq = self._young.pop(row, None) or self._late.pop(row, None) or self._old.pop(row, None)
        old = self._failed.pop(row.nonce, None)
        if old is not None:
            self._drop_failure(old)
            seq = seq or old.seq
        seq = seq or self._new_seq()
        if row.requested_at == self.env.now:
            self._young[row] = seq
        else:  # as coded, the reset takes the sender's timestamp (§3.3)
            self._late[row] = seq

    def finished(self, row: IntentRow, timed: bool = True) -> None:
        """Record a finalised row (acked or failed)."""
        seq = self._young.pop(row, None)
        if seq is None or row.status != "acked":
            self._finished_other(row, timed, seq)
            return
        # The common case: a success (a result always has a latency), one packed integer
        # appended to its bucket, counted at the next advance.
        requested_at = row.requested_at
        requested_ms = int(requested_at * 1000.0 + 0.5)
        if requested_ms < self._cutoff_ms:
            return  # already outside the window
        # latency_ms(), inlined; the ignore: a finished row has its finished_at
        latency = int(row.finished_at * 1000.0 + 0.5) - requested_ms  # type: ignore[operator]
        key = requested_ms // _BUCKET_MS
        bucket = self._bucket if key == self._bucket_key else self._switch_bucket(key)
        bucket.append((latency + 1) << _OFFSET_BITS | (requested_ms - key * _BUCKET_MS))
        if latency >= SLOW_MS:
            self._note_slow(row.nonce, row.sender, row.recipient, row.intent, requested_ms, seq, latency,
                            requested_ms + latency)

    def _finished_other(self, row: IntentRow, timed: bool, seq: int | None) -> None:
        """A failure, or a row that was not among the young in-flight rows: one of the
        backlog, one reset with the sender's timestamp, or a failed row a late result
        reconciled."""
        if seq is None:
            seq = self._late.pop(row, None) or self._old.pop(row, None)
        now = self.env.now
        latency = latency_ms(row.requested_at, now) if timed else None
        if seq is None:  # not in flight: a late result reconciled a failed row (§3.9/3)
            previous = self._failed.pop(row.nonce, None)
            if previous is not None:
                self._drop_failure(previous)
                seq = previous.seq
                if previous.latency_ms is not None:
                    latency = previous.latency_ms  # Beam keeps the stored latency
            seq = seq or self._new_seq()
        requested_ms, now_ms = to_ms(row.requested_at), to_ms(now)
        self._first_ms = min(self._first_ms, requested_ms)  # an as-coded reset's sender time may be earlier
        if requested_ms < self._cutoff_ms:
            return  # already outside the window
        if row.status == "acked":
            self._add_success(row.nonce, row.sender, row.recipient, row.intent, requested_ms, seq, latency, now_ms)
        else:
            self._add_failure(IntentFact(row.nonce, row.sender, row.recipient, row.intent, requested_ms, seq,
                                         row.status, row.error_code, latency, now_ms))

    def restored(self) -> None:
        """The directory's rows were replaced from a backup: in-flight tracking follows the
        rows held now (a row the restore dropped is no longer in flight; one it put back
        in flight is, as a row reset with an earlier time), and a failure whose row the
        restore dropped leaves the window. Successes already counted stay counted."""
        rows = self.rows
        for tracked in (self._young, self._late, self._old):
            for row in [row for row in tracked if rows.get(row.nonce) is not row]:
                del tracked[row]
        for nonce in [nonce for nonce in self._failed if nonce not in rows]:
            self._drop_failure(self._failed.pop(nonce))
        for row in rows.values():
            if row.status in _IN_FLIGHT and row not in self._young and row not in self._late and row not in self._old:
                self._late[row] = self._new_seq()

    # -- direct recording (tests, scripted drills) ----------------------------------------

    def record_finished(self, nonce: str, sender: str, recipient: str, intent: str, requested_at: float,
                        status: str, latency_ms: int | None = None, error_code: str | None = None) -> None:
        """Record a finished ``intent_log`` row now, as Beam's fire-drill script writes rows
        straight into its database (§12): ``status`` is acked, failed or dead_letter."""
        if status != "acked" and status not in ERROR_STATES:
            raise ValueError(f"status must be acked, failed or dead_letter, not {status!r}")
        if latency_ms is not None and latency_ms < 0:
            raise ValueError(f"latency_ms must not be negative, not {latency_ms}")
        old = self._failed.pop(nonce, None)
        if old is not None:
            self._drop_failure(old)
        requested_ms, seq, now_ms = to_ms(requested_at), self._new_seq(), to_ms(self.env.now)
        self._first_ms = min(self._first_ms, requested_ms)
        if requested_ms < self._cutoff_ms:
            return
        if status == "acked":
            self._add_success(nonce, sender, recipient, intent, requested_ms, seq, latency_ms, now_ms)
        else:
            self._add_failure(IntentFact(nonce, sender, recipient, intent, requested_ms, seq, status, error_code,
                                         latency_ms, now_ms))

    # -- internals -----------------------------------------------------------------------

    def _new_seq(self) -> int:
        return next(self._seqs)

    def _switch_bucket(self, key: int) -> array[int]:
        """Make bucket ``key`` the one appended to, noting where its uncounted entries start."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = array("q")
        self._dirty.setdefault(key, len(bucket))
        self._bucket_key, self._bucket = key, bucket
        return bucket

    def _add_success(self, nonce: str, sender: str, recipient: str, intent: str, requested_ms: int, seq: int,
                     latency: int | None, now_ms: int) -> None:
        key = requested_ms // _BUCKET_MS
        bucket = self._bucket if key == self._bucket_key else self._switch_bucket(key)
        offset = requested_ms - key * _BUCKET_MS
        bucket.append(offset if latency is None else (latency + 1) << _OFFSET_BITS | offset)
        if latency is not None and latency >= SLOW_MS:
            self._note_slow(nonce, sender, recipient, intent, requested_ms, seq, latency, now_ms)

    def _absorb(self) -> None:
        """Count the successes appended since the last call into the totals and the latency
        histogram (one tight loop over the new tail of each bucket)."""
        dirty = self._dirty
        if not dirty:
            return
        buckets, histogram = self._buckets, self.latencies
        cells, blocks, watch = histogram.cells, histogram.blocks, histogram.watch
        successes = added = total = under = 0
        for key, start in dirty.items():
            bucket = buckets.get(key)
            if bucket is None:
                continue
            successes += len(bucket) - start
            for packed in bucket[start:]:
                if packed > _OFFSET_MASK:
                    latency = (packed >> _OFFSET_BITS) - 1
                    if latency < FINE_LIMIT:  # MsHistogram.add, inlined
                        cells[latency] += 1
                        blocks[latency >> BLOCK_SHIFT] += 1
                        added += 1
                        total += latency
                        if latency < watch:
                            under += 1
                    else:
                        histogram.add(latency)
        self.successes += successes
        histogram.count += added
        histogram.total += total
        histogram.under += under
        dirty.clear()
        self._bucket_key = -1  # the next append marks its bucket again

    def _add_failure(self, fact: IntentFact) -> None:
        self._failed[fact.nonce] = fact
        heapq.heappush(self._failed_expiry, (fact.requested_ms, fact.seq, fact.nonce))
        self.errors += 1
        label = fact.error_code or UNKNOWN_CODE
        self.codes[label] = self.codes.get(label, 0) + 1
        if fact.latency_ms is not None:
            self.latencies.add(fact.latency_ms)

    def _drop_failure(self, fact: IntentFact) -> None:
        """Uncount a failure: it expired, or its row was reset, replaced or reconciled.
        Every fact in ``_failed`` is counted (older ones were expired and removed)."""
        self.errors -= 1
        label = fact.error_code or UNKNOWN_CODE
        left = self.codes[label] - 1
        if left:
            self.codes[label] = left
        else:
            del self.codes[label]
        if fact.latency_ms is not None:
            self.latencies.remove(fact.latency_ms)

    def _note_slow(self, nonce: str, sender: str, recipient: str, intent: str, requested_ms: int, seq: int,
                   latency: int, now_ms: int) -> None:
        """Keep the three newest slow successes (a success never changes state again)."""
        slow = self._slow
        mark = (requested_ms, seq)
        if len(slow) == 3 and mark <= (slow[2].requested_ms, slow[2].seq):
            return
        fact = IntentFact(nonce, sender, recipient, intent, requested_ms, seq, "acked", None, latency, now_ms)
        index = len(slow)
        while index and mark > (slow[index - 1].requested_ms, slow[index - 1].seq):
            index -= 1
        slow.insert(index, fact)
        del slow[3:]

    # -- moving the window ---------------------------------------------------------------

    def advance(self) -> None:
        """Bring the counts up to date and move the window to now: expire rows requested
        (and Shield rows created) before it, and move in-flight rows that just became older
        than 15 minutes to the backlog."""
        now_ms = to_ms(self.env.now)
        self._absorb()
        self.forget_before(now_ms - self.window_ms)
        cutoff = now_ms - BACKLOG_AGE_MS
        young, old = self._young, self._old
        moved: list[IntentRow] = []
        for row in young:  # in admission order, which is requested_at order
            if int(row.requested_at * 1000.0 + 0.5) >= cutoff:
                break
            moved.append(row)
        for row in moved:
            old[row] = young.pop(row)
        if self._late:
            for row in [row for row in self._late if to_ms(row.requested_at) < cutoff]:
                old[row] = self._late.pop(row)

    def forget_before(self, cutoff_ms: int) -> None:
        """Move the window's start to ``cutoff_ms`` (never back): what was requested, or
        flagged by Shield, before it is no longer counted. :meth:`advance` calls it; a
        prune of older rows may too."""
        if cutoff_ms <= self._cutoff_ms:
            return
        self._absorb()
        self._cutoff_ms = cutoff_ms
        if cutoff_ms < self._first_ms:
            return  # nothing recorded is that old yet (the run is younger than the window)
        self._expire_successes(cutoff_ms)
        heap, failed = self._failed_expiry, self._failed
        while heap and heap[0][0] < cutoff_ms:
            requested_ms, seq, nonce = heapq.heappop(heap)
            fact = failed.get(nonce)
            if fact is not None and fact.seq == seq and fact.requested_ms == requested_ms:
                self._drop_failure(fact)
                del failed[nonce]
        if self._slow and self._slow[-1].requested_ms < cutoff_ms:
            self._slow = [fact for fact in self._slow if fact.requested_ms >= cutoff_ms]
        self.shield.advance(cutoff_ms)

    def _expire_successes(self, cutoff: int) -> None:
        buckets = self._buckets
        edge = cutoff // _BUCKET_MS
        expired: list[array[int]] = []
        for key in range(self._swept, edge):
            bucket = buckets.pop(key, None)
            if bucket is not None:
                expired.append(bucket)
        self._swept = max(self._swept, edge)
        if self._bucket_key < edge:
            self._bucket_key = -1
        partial = buckets.get(edge)
        if partial is not None:
            offset = cutoff - edge * _BUCKET_MS
            kept = array("q", (packed for packed in partial if packed & _OFFSET_MASK >= offset))
            if len(kept) < len(partial):
                expired.append(array("q", (packed for packed in partial if packed & _OFFSET_MASK < offset)))
                buckets[edge] = kept
                if self._bucket_key == edge:
                    self._bucket_key = -1
        for bucket in expired:
            self.successes -= len(bucket)
            self.latencies.remove_all((packed >> _OFFSET_BITS) - 1 for packed in bucket if packed > _OFFSET_MASK)

    @property
    def cutoff_ms(self) -> int:
        """The start of the window as of the last :meth:`advance` (``requested_at >= cutoff``)."""
        return self._cutoff_ms

