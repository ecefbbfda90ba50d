"""The delivery history, Jepsen style: what became of every intent a sender attempted,
seen from the senders' side and from the recipients' side.

The semantics are those of Jepsen's ``total-queue`` checker (``jepsen.checker``), made
aware of dead letters and of intents still under way when a run ends. A value is a
nonce: Beam uses it as the intent's idempotency key, so an intent is attempted once
however often its sender or the bus sends it again, and its recipient should run its
handler for it once.

Words, as this world gives them meaning
---------------------------------------
- **attempted**: a sender's send of the nonce reached Beam: the bus (``bus_accepted``,
  or ``send_rejected`` for a send the bus refused) or the directory (``relay``, for a
  nonce the bus does not carry). A send refused because the directory process was down
  never reached Beam and is not in the history.
- **acknowledged** (Beam *accepted* it): Beam admitted the intent into a lifecycle row on
  its own path, the bus for bus sends, the directory for HTTP and WebSocket sends.
  **refused**: attempted, never admitted (rate limits, Shield, ACL, replay window, ...).
- **processed**: the recipient's handler ran for the nonce and answered success (an
  async acceptance included), whether or not the answer reached anybody. A handler that
  answers a failure did not do the work. Agents tell the checker through a side channel
  (:class:`~simulator.beam.agents.WorkObserver`), never through the event stream, so
  ``events.jsonl`` is unchanged; in a crafted history the side channel's calls are the
  events ``agent_received`` and ``agent_handled`` (:data:`HISTORY_KINDS`).
- The sender's **answer** is the final status of the intent's row on its own path: the
  directory's ``acked`` and the bus's ``delivered`` or ``acked`` are a success; ``failed``
  (a directory failure such as ``OFFLINE`` or ``TIMEOUT``, or an operator failing a bus
  message) is a failure; the bus's ``dead_letter`` is a **dead letter**.
- **in flight**: when the history is read (the end of the run is the cut-off), the row is
  not finished (directory: received to delivered; bus: received, queued, dispatched) or
  a recipient still holds the intent. Its answer may still change, so it is neither lost
  nor recovered yet.

Every attempted intent is in exactly one outcome: **ok** (success, processed), **lost**
(success, never processed), **recovered** (a failure, a dead letter or a refusal, yet
processed), **failed** and **dead-lettered** (not processed, and the sender was told),
**refused**, or **in flight**. An intent whose row a restore from a backup dropped (the
row was admitted after that backup, ``lost_in_restore``) and that was never processed is
**lost in restore**, never plain lost: Beam accepted it and the restore destroyed it, the
recovery point's price; a sender's retry with the same nonce that Beam admits again gives
it its ordinary outcome. Besides the outcomes: **duplicated** counts attempted
intents whose handler ran more than once (``duplicate_runs`` the runs beyond the first,
Jepsen's multiset count), and **unexpected** intents were processed but never attempted.
A history is valid when nothing is lost and nothing is unexpected, as in Jepsen.

Memory is bounded as the world's own: the checker forgets a nonce when Beam has
forgotten every row of it (retention's ``forgotten``) and no recipient still holds it,
keeping only counts and a few examples per anomaly. A send of a nonce Beam has forgotten
is a new intent, for the checker as for Beam; a refused intent, and a nonce processed
that nobody had sent, are settled at once (a later send of it is another intent). So,
unlike Jepsen's checker, which reads a whole history, the counts depend on the order of
events only where Beam's own state does.
"""

from __future__ import annotations

from typing import Final

from simulator.kernel.events import Event
from simulator.summary import HistoryExample, HistoryReport

#: The side channel's events, which only a checker sees (never the world's event stream).
HISTORY_KINDS: Final[dict[str, str]] = {
    "agent_received": "a recipient took delivery of the nonce: agent",
    "agent_handled": "a recipient's handler ran for the nonce: agent, success",
}
#: How many examples of each anomaly a report keeps, unless told otherwise.
EXAMPLES: Final[int] = 5
#: How many handler run times an intent's record keeps for its example.
RUN_TIMES: Final[int] = 4
#: The anomalies a report gives examples of.
ANOMALIES: Final[tuple[str, ...]] = ("lost", "duplicated", "unexpected", "recovered", "lost_in_restore")
#: The outcomes that partition the attempted intents.
OUTCOMES: Final[tuple[str, ...]] = ("ok", "lost", "recovered", "failed", "dead_lettered", "refused", "in_flight",
                                     "lost_in_restore")

_COUNTS: Final[tuple[str, ...]] = (*OUTCOMES, "acknowledged", "duplicated", "duplicate_runs", "unexpected")
_UNFINISHED: Final[dict[str, frozenset[str]]] = {
    "directory": frozenset({"received", "validated", "queued", "dispatched", "delivered"}),
    "bus": frozenset({"received", "validated", "queued", "dispatched"}),
}
_SUCCESS: Final[dict[str, frozenset[str]]] = {
    "directory": frozenset({"acked"}),
    "bus": frozenset({"delivered", "acked"}),
}


class IntentRecord:
    """What the history knows of one nonce while Beam or a recipient still holds it."""

    __slots__ = ("nonce", "path", "sender", "recipient", "sent_at", "attempted", "admitted", "status",
                 "status_at", "rows", "working", "runs", "run_times", "restored_away")

    def __init__(self, nonce: str, path: str | None, sender: str | None, recipient: str | None,
                 time: float, attempted: bool) -> None:
        self.nonce = nonce
        #: The path its sender used (``bus`` or ``directory``); None when never sent.
        self.path = path
        self.sender = sender
        self.recipient = recipient
        self.sent_at = time
        self.attempted = attempted
        self.admitted = False
        #: The status of its row on its own path, and since when.
        self.status: str | None = None
        self.status_at: float | None = None
        #: Rows Beam holds for it now, on either path (a bus intent has a directory row too).
        self.rows = 0
        #: Deliveries a recipient took and has not answered yet.
        self.working = 0
        #: Handler runs that answered success, and the first few of their times.
        self.runs = 0
        self.run_times: list[float] | None = None
        #: A restore dropped its row on its own path, and Beam has not admitted it again.
        self.restored_away = False

    def outcome(self) -> str | None:
        """Which of :data:`OUTCOMES` the intent is in now (None: never attempted)."""
        if not self.attempted:
            return None
        if self.working:
            return "in_flight"
        if self.restored_away:
            if not self.runs:
                return "lost_in_restore"
            status = self.status or "received"
            return "recovered" if status in ("failed", "dead_letter") else "ok"
        if not self.admitted:
            return "recovered" if self.runs else "refused"
        path = self.path or "directory"
        status = self.status or "received"
        if status in _UNFINISHED[path]:
            return "in_flight"
        if status in _SUCCESS[path]:
            return "ok" if self.runs else "lost"
        if self.runs:
            return "recovered"
        return "dead_lettered" if status == "dead_letter" else "failed"

    def anomalies(self, outcome: str | None) -> list[str]:
        """Which of :data:`ANOMALIES` the intent shows now, given its :meth:`outcome`."""
        found = []
        if outcome == "lost" or outcome == "recovered" or outcome == "lost_in_restore":
            found.append(outcome)
        if self.attempted and self.runs > 1:
            found.append("duplicated")
        if not self.attempted and self.runs:
            found.append("unexpected")
        return found

    def example(self) -> HistoryExample:
        """The record as a report's example."""
        return HistoryExample(nonce=self.nonce, sender=self.sender, recipient=self.recipient, path=self.path,
                              sent_at=self.sent_at if self.attempted else None, status=self.status,
                              status_at=self.status_at, runs=self.runs, run_times=list(self.run_times or ()))


class DeliveryHistory:
    """The history checker: a sink for the world's events and a
    :class:`~simulator.beam.agents.WorkObserver` for its recipients; pure, no I/O.

    :meth:`report` reads it at any instant; the intents under way then are in flight.
    """

    def __init__(self, examples: int = EXAMPLES) -> None:
        self.examples_kept = examples
        self.records: dict[str, IntentRecord] = {}
        #: Outcomes and anomalies of the intents already forgotten.
        self.settled: dict[str, int] = dict.fromkeys(_COUNTS, 0)
        self.settled_examples: dict[str, list[HistoryExample]] = {name: [] for name in ANOMALIES}
        #: Nonces of rows written straight into a store (a drill's fixture): never attempted.
        self.seeded: set[str] = set()
        self._handlers = {
            "bus_accepted": self._bus_accepted, "relay": self._relay, "send_rejected": self._send_rejected,
            "relay_rejected": self._relay_rejected, "forgotten": self._forgotten,
            "lost_in_restore": self._lost_in_restore,
            "agent_received": self._agent_received, "agent_handled": self._agent_handled,
        }

    # -- input -----------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        """Record one event of the world's stream (or of :data:`HISTORY_KINDS`)."""
        time, kind, nonce, data = event
        if kind == "transition":  # most events are; handled here without a second call
            key = nonce or ""
            record = self.records.get(key)
            path = data["path"]
            if record is None:  # a row nobody sent, such as one a restore brought back
                if key in self.seeded:
                    return
                record = self.records[key] = IntentRecord(key, path, None, None, time, attempted=True)
            if path == record.path:
                if data["from"] is None:
                    record.rows += 1
                    record.admitted = True
                    record.restored_away = False
                record.status = data["to"]
                record.status_at = time
            elif data["from"] is None:
                record.rows += 1
            return
        handler = self._handlers.get(kind)
        if handler is not None:
            handler(event)

    def seed(self, nonce: str) -> None:
        """A row for ``nonce`` was written straight into a store, as Beam's drill scripts
        seed their databases: nobody sent it, so it is not in the history."""
        self.seeded.add(nonce)
        record = self.records.get(nonce)
        if record is not None and not record.runs and not record.working:
            del self.records[nonce]

    def received(self, time: float, agent: str, nonce: str) -> None:
        """A recipient took delivery of ``nonce``."""
        record = self.records.get(nonce)
        if record is None:
            record = self.records[nonce] = IntentRecord(nonce, None, None, agent, time, attempted=False)
        record.working += 1

    def handled(self, time: float, agent: str, nonce: str, success: bool) -> None:
        """A recipient's handler ran for ``nonce`` and answered ``success``."""
        record = self.records.get(nonce)
        if record is None:
            record = self.records[nonce] = IntentRecord(nonce, None, None, agent, time, attempted=False)
        if record.working:
            record.working -= 1
        if success:
            record.runs += 1
            times = record.run_times
            if times is None:
                record.run_times = [time]
            elif len(times) < RUN_TIMES:
                times.append(time)
        if not record.working and not record.rows and (record.admitted or not record.attempted):
            self._settle(record)

    def _sent(self, event: Event, path: str) -> None:
        """A sender's send reached Beam on ``path``: the nonce is attempted."""
        nonce = event.nonce
        if nonce is None:
            return
        record = self.records.get(nonce)
        data = event.data
        if record is None:
            record = self.records[nonce] = IntentRecord(nonce, path, data.get("sender"), data.get("recipient"),
                                                        event.time, attempted=True)
        elif not record.attempted:  # processed before anybody sent it: no longer unexpected
            record.attempted = True
            record.path = path
            record.sender = data.get("sender")
            record.sent_at = event.time

    def _bus_accepted(self, event: Event) -> None:
        self._sent(event, "bus")

    def _relay(self, event: Event) -> None:
        record = self.records.get(event.nonce or "")
        if record is None or not record.attempted:  # a bus attempt's relay finds its bus record
            self._sent(event, "directory")

    def _send_rejected(self, event: Event) -> None:
        if event.nonce is None or event.nonce not in self.records:
            self.settled["refused"] += 1

    def _relay_rejected(self, event: Event) -> None:
        record = self.records.get(event.nonce or "")
        if record is None:
            self.settled["refused"] += 1
        elif not record.admitted and not record.working and not record.rows:
            self._settle(record)

    def _agent_received(self, event: Event) -> None:
        self.received(event.time, event.data["agent"], event.nonce or "")

    def _agent_handled(self, event: Event) -> None:
        self.handled(event.time, event.data["agent"], event.nonce or "", bool(event.data["success"]))

    def _forgotten(self, event: Event) -> None:
        record = self.records.get(event.nonce or "")
        if record is None:
            return
        record.rows -= 1
        if record.rows <= 0 and not record.working:
            self._settle(record)

    def _lost_in_restore(self, event: Event) -> None:
        """A restore dropped one of the nonce's rows. The record stays (not settled) so a
        sender's retry of the nonce finds it: lost in restore until Beam admits it again."""
        record = self.records.get(event.nonce or "")
        if record is None:
            return
        record.rows -= 1
        if event.data["path"] == record.path:
            record.restored_away = True

    def _settle(self, record: IntentRecord) -> None:
        """The record is final: count it, keep it as an example if wanted, forget it."""
        del self.records[record.nonce]
        _count(record, self.settled, self.settled_examples, self.examples_kept)

    # -- output ----------------------------------------------------------------------

    def report(self) -> HistoryReport:
        """The history as it stands: counts, validity and examples (the intents under way
        now are in flight)."""
        counts = dict(self.settled)
        examples = {name: list(kept) for name, kept in self.settled_examples.items()}
        for record in self.records.values():
            _count(record, counts, examples, self.examples_kept)
        attempted = sum(counts[outcome] for outcome in OUTCOMES)
        lost, unexpected = counts["lost"], counts["unexpected"]
        problems = []
        if lost:
            problems.append(f"history: {lost} acknowledged intents never processed (lost), e.g. "
                            f"{', '.join(example.nonce for example in examples['lost'])}")
        if unexpected:
            problems.append(f"history: {unexpected} intents processed but never sent (unexpected), e.g. "
                            f"{', '.join(example.nonce for example in examples['unexpected'])}")
        return HistoryReport(
            valid=not problems, attempted=attempted, **counts, problems=problems, examples=examples)


def _count(record: IntentRecord, counts: dict[str, int], examples: dict[str, list[HistoryExample]],
           limit: int) -> None:
    """Add ``record``'s outcome and anomalies to ``counts``, and keep it as an example of
    each anomaly that has fewer than ``limit``."""
    outcome = record.outcome()
    if outcome is not None:
        counts[outcome] += 1
        if record.admitted:
            counts["acknowledged"] += 1
    if record.runs > 1 and record.attempted:
        counts["duplicated"] += 1
        counts["duplicate_runs"] += record.runs - 1
    elif record.runs and not record.attempted:
        counts["unexpected"] += 1
    for anomaly in record.anomalies(outcome):
        kept = examples[anomaly]
        if len(kept) < limit:
            kept.append(record.example())
