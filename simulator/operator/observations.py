"""What Beam's alerts and overview read (beam-model §9.2, §9.3), answered from the windowed
:class:`~simulator.operator.factstore.FactStore`: the overview's counts, the backlog, and
the newest rows an alert shows as samples, in Beam's order (``requested_at DESC, id DESC``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from simulator.kernel.percentile import js_round
from simulator.kernel.units import to_ms
from simulator.operator.overview import Overview
from simulator.operator.factstore import SLOW_MS, UNKNOWN_CODE, FactStore, IntentFact

if TYPE_CHECKING:
    from simulator.beam.relay import IntentRow


def newest(facts: Iterable[IntentFact], limit: int = 3) -> list[IntentFact]:
    """The ``limit`` newest facts by ``requested_at DESC, id DESC`` (Beam's sample order)."""
    return sorted(facts, key=lambda fact: (fact.requested_ms, fact.seq), reverse=True)[:limit]


class Observations(FactStore):
    """The fact store with the reads alerts and the overview make; call :meth:`advance`
    (the alert engine does) before reading."""

    @property
    def shield_counts(self) -> tuple[int, int]:
        """(holds, rejects) inside the window."""
        return self.shield.counts[0], self.shield.counts[1]

    def backlog(self) -> list[IntentRow]:
        """In-flight rows with ``requested_at`` more than 15 minutes ago, at any age (as of
        the last :meth:`advance`)."""
        return list(self._old)

    def backlog_count(self) -> int:
        """How many rows :meth:`backlog` holds."""
        return len(self._old)

    def backlog_samples(self, limit: int = 3) -> list[IntentFact]:
        """The newest ``limit`` rows of :meth:`backlog`."""
        return newest((self.fact_of(row) for row in self._old), limit)

    def fact_of(self, row: IntentRow) -> IntentFact:
        """A live row as alerts show it."""
        requested_ms = to_ms(row.requested_at)
        finished = to_ms(row.finished_at) if row.finished_at is not None else None
        seq = self._young.get(row) or self._late.get(row) or self._old.get(row) or 0
        failed = self._failed.get(row.nonce)
        if failed is not None and failed.requested_ms == requested_ms:
            seq = failed.seq
        return IntentFact(row.nonce, row.sender, row.recipient, row.intent, requested_ms, seq, row.status,
                          row.error_code, None if finished is None else finished - requested_ms, finished)

    def failures(self) -> Iterable[IntentFact]:
        """Every failed row inside the window, in the order they finished."""
        return self._failed.values()

    def newest_failures(self, code: str | None = None, label: str | None = None, min_latency: int | None = None,
                        limit: int = 3) -> list[IntentFact]:
        """The newest failed rows (``requested_at DESC, id DESC``), optionally only those
        whose stored ``error_code`` equals ``code``, whose code label (``UNKNOWN`` for none)
        equals ``label``, or whose latency is at least ``min_latency``.

        Scans from the most recently finished row and stops once no earlier-finished row
        can be newer (a row is requested before it finishes)."""
        best: list[IntentFact] = []
        failed = self._failed
        for nonce in reversed(failed):
            fact = failed[nonce]
            if len(best) == limit and fact.finished_ms is not None and fact.finished_ms < best[-1].requested_ms:
                break
            if code is not None and fact.error_code != code:
                continue
            if label is not None and (fact.error_code or UNKNOWN_CODE) != label:
                continue
            if min_latency is not None and (fact.latency_ms is None or fact.latency_ms < min_latency):
                continue
            best = newest([*best, fact], limit)
        return best

    def newest_slow(self, limit: int = 3) -> list[IntentFact]:
        """The newest rows with a latency of at least 2000 ms, failed ones included."""
        return newest([*self._slow, *self.newest_failures(min_latency=SLOW_MS, limit=limit)], limit)

    def first_seen(self, labels: Iterable[str]) -> dict[str, tuple[int, int]]:
        """For each error-code label, its oldest failed row's (requested_ms, seq): the order
        in which Beam's error view first meets the codes."""
        wanted = set(labels)
        first: dict[str, tuple[int, int]] = {}
        for fact in self._failed.values():
            label = fact.error_code or UNKNOWN_CODE
            if label in wanted:
                mark = (fact.requested_ms, fact.seq)
                if label not in first or mark < first[label]:
                    first[label] = mark
        return first

    def newest_flagged_nonces(self, limit: int = 3) -> list[str]:
        """Nonces of the newest Shield holds and rejects inside the window."""
        return self.shield.newest_nonces(limit)

    def in_flight(self) -> int:
        """Rows in flight whose ``requested_at`` is inside the window."""
        outside = sum(1 for row in self._old if to_ms(row.requested_at) < self._cutoff_ms)
        return len(self._young) + len(self._late) + len(self._old) - outside

    def overview(self) -> Overview:
        """The overview summary's intent fields (§9.2) as of now."""
        self.advance()
        in_flight = self.in_flight()
        total = self.successes + self.errors + in_flight
        return Overview(window_hours=self.window_hours, total_intents=total, success_count=self.successes,
                        error_count=self.errors, in_flight_count=in_flight, avg_latency_ms=self.latencies.mean(),
                        p95_latency_ms=self.latencies.percentile(0.95),
                        success_rate=js_round(self.successes / total, 4) if total else 0.0,
                        in_flight_older_than_15m=len(self._old))
