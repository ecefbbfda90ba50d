"""What one run measured, collected from the world's event stream as it runs.

Definitions (the README's "Sweeps" section says the same):

- an **intent** is a nonce a sender offered: a bus send (accepted or refused) or a frame
  an agent sent straight to the directory (over HTTP or WebSocket, admitted or refused;
  a frame sent while the directory is down reaches nothing and leaves no event);
- it is **delivered** the first time the directory's row for its nonce reaches ``acked``
  (an intent through the bus is relayed by the directory with its nonce; an asynchronous
  acceptance acks the directory row too);
- **goodput**: delivered intents per virtual second of the run;
- **delivery latency**: from the first time the intent was seen (its bus admission, or its
  frame reaching the directory) to its delivery; p50/p95/p99 by nearest rank, seconds;
- **dead letters**: moves of bus messages to ``dead_letter`` (a requeued message that
  dead-letters again counts again: the summary's ``dead_letters_total``);
- **attempts per intent**: bus delivery attempts plus frames agents sent straight to the
  directory (every resend counts), divided by intents;
- **peak queue depth**: the most bus messages waiting for a retry (``queued``) at once;
- **time to recover**: :mod:`drills.sweep.recovery`;
- **completion time**: the virtual time of the run's last delivery (when a crowd of
  clients that each send once is done, as in Brooker's contention simulator);
- the delivery-history counts (lost, duplicated, unexpected, recovered deliveries) come
  from the world's delivery history (:func:`history_counts`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from simulator import World
from simulator.kernel.events import Event
from simulator.kernel.percentile import nearest_rank_index

from drills.sweep.recovery import time_to_recover


class HistoryCounts(BaseModel):
    """The delivery history's four counts (Jepsen's total-queue classes, dead-letter aware)."""

    lost: int
    duplicated: int
    unexpected: int
    recovered: int


def history_counts(world: World) -> HistoryCounts | None:
    """The delivery history's counts for ``world``'s run (:meth:`World.check_history`
    keeps it); None when the run did not keep one: the four measures are then empty."""
    report = world.delivery_history()
    if report is None:
        return None
    return HistoryCounts(lost=report.lost, duplicated=report.duplicated, unexpected=report.unexpected,
                         recovered=report.recovered)


class Measures(BaseModel):
    """Every measure of one run; None where a measure has no value (no delivery for a
    latency, no recovery to judge, no delivery history kept)."""

    intents: int
    delivered: int
    attempts: int
    goodput: float
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    dead_letters: int
    attempts_per_intent: float | None
    peak_queue_depth: int
    time_to_recover: float | None
    recovered: bool | None
    completion_time: float | None
    lost: int | None
    duplicated: int | None
    unexpected: int | None
    recovered_deliveries: int | None


class MeasureSink:
    """A sink on a world's events that keeps what :class:`Measures` needs.

    Memory is a set of the bus's nonces, the first-seen time of intents not yet delivered,
    and one float per delivery.
    """

    def __init__(self) -> None:
        self.bus_nonces: set[str] = set()
        self.seen: dict[str, float] = {}
        self.done: set[str] = set()
        self.deliveries: list[float] = []
        self.latencies: list[float] = []
        self.intents = 0
        self.attempts = 0
        self.dead_letters = 0
        self.queued = 0
        self.peak_queued = 0
        self.fault_starts: list[float] = []
        self.fault_ends: list[float] = []
        self.active_faults: set[Any] = set()

    def __call__(self, event: Event) -> None:
        """Take one event."""
        kind, nonce, data = event.kind, event.nonce, event.data
        if kind == "transition":
            self._transition(event.time, nonce, data)
        elif kind == "bus_accepted":
            if nonce is not None and nonce not in self.bus_nonces:
                self.bus_nonces.add(nonce)
                self.intents += 1
        elif kind == "send_rejected":
            self.intents += 1
        elif kind == "attempt":
            self.attempts += 1
        elif kind == "relay":  # every frame that reached the directory, refused ones too
            if nonce is None or nonce not in self.bus_nonces:
                self.attempts += 1
                if nonce is None or (nonce not in self.seen and nonce not in self.done):
                    self.intents += 1
                    if nonce is not None:
                        self.seen[nonce] = event.time
        elif kind == "fault_start":
            self.fault_starts.append(event.time)
            self.active_faults.add(data.get("fault"))
        elif kind == "fault_end":
            self.fault_ends.append(event.time)
            self.active_faults.discard(data.get("fault"))

    def _transition(self, time: float, nonce: str | None, data: dict[str, Any]) -> None:
        path, previous, state = data["path"], data["from"], data["to"]
        if nonce is None:
            return
        if path == "bus":
            if previous is None and nonce not in self.seen and nonce not in self.done:
                self.seen[nonce] = time
            if state == "queued" and previous != "queued":
                self.queued += 1
                self.peak_queued = max(self.peak_queued, self.queued)
            elif previous == "queued" and state != "queued":
                self.queued -= 1
            if state == "dead_letter" and previous != "dead_letter":
                self.dead_letters += 1
        elif state == "acked" and previous != "acked" and nonce not in self.done:
            sent = self.seen.pop(nonce, time)
            self.done.add(nonce)
            self.deliveries.append(time)
            self.latencies.append(time - sent)

    def measures(self, world: World, run_end: float, window: float, tolerance: float) -> Measures:
        """The run's measures once it has run to ``run_end``."""
        latencies = sorted(self.latencies)

        def percentile(fraction: float) -> float | None:
            return latencies[nearest_rank_index(len(latencies), fraction)] if latencies else None

        recovery = time_to_recover(self.deliveries, min(self.fault_starts, default=None),
                                   max(self.fault_ends, default=None), bool(self.active_faults), run_end,
                                   window, tolerance)
        history = history_counts(world)
        return Measures(
            intents=self.intents, delivered=len(self.deliveries), attempts=self.attempts,
            goodput=len(self.deliveries) / run_end if run_end > 0 else 0.0,
            latency_p50=percentile(0.50), latency_p95=percentile(0.95), latency_p99=percentile(0.99),
            dead_letters=self.dead_letters,
            attempts_per_intent=self.attempts / self.intents if self.intents else None,
            peak_queue_depth=self.peak_queued, time_to_recover=recovery.seconds, recovered=recovery.recovered,
            completion_time=self.deliveries[-1] if self.deliveries else None,
            lost=None if history is None else history.lost,
            duplicated=None if history is None else history.duplicated,
            unexpected=None if history is None else history.unexpected,
            recovered_deliveries=None if history is None else history.recovered,
        )
