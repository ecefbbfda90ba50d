"""Beam's message bus on virtual time (beam-model §4, requirements §14.3–§14.11).

Send validation and dedupe, the per-sender sliding window
(:class:`~simulator.beam.ratelimit.SlidingWindow`), one synchronous attempt,
the retry worker, dead letters, requeue, poll and ack, restart recovery and stats.
Every status change goes through the bus :class:`~simulator.kernel.lifecycle.Ledger`.
"""

from __future__ import annotations

import functools
import heapq
import json
import random
from collections import deque
from typing import Any, Callable, Final, Generator

import simpy

from simulator.beam.busrows import Answer, Attempt, BusMessage, BusResponse
from simulator.beam.directory import Directory
from simulator.beam.links import Links
from simulator.beam.ratelimit import SlidingWindow
from simulator.beam.relay import NO_RESPONSE, Frame, RelayOutcome
from simulator.kernel.events import EventStream
from simulator.kernel.lifecycle import Ledger, is_allowed
from simulator.kernel.retention import Retention
from simulator.beam.retry import RetryPolicy, is_retryable
from simulator.kernel.rng import random_hex_id

RESTART_ERROR: Final[str] = "Recovered after message bus restart"
#: Bus statuses whose rows are done with unless an operator acts (retention may forget them).
SETTLED: Final[frozenset[str]] = frozenset({"delivered", "acked"})

_ABORTED: Final[Attempt] = Attempt(False, None, "TIMEOUT", "Delivery timeout (30s)")
_CONNECTION_FAILED: Final[Attempt] = Attempt(False, None, "DELIVERY_FAILED", "Connection error: connect ECONNREFUSED")
_CONNECTION_RESET: Final[Attempt] = Attempt(False, None, "DELIVERY_FAILED", "Connection error: socket hang up")


def attempt_from_relay(outcome: RelayOutcome) -> Attempt:
    """Map the directory's answer to ``POST /intents/send`` onto a bus attempt."""
    if outcome.http_status == NO_RESPONSE:
        return _CONNECTION_FAILED
    if 200 <= outcome.http_status < 300 and outcome.success:
        return Attempt(True, outcome.http_status, None, None, outcome.payload)
    code = outcome.error_code
    return Attempt(False, outcome.http_status, code, code or f"HTTP {outcome.http_status}")


class Bus:
    """The message bus: the API of §4 and the 30 s retry worker."""

    def __init__(
        self,
        env: simpy.Environment,
        events: EventStream,
        directory: Directory,
        policy: RetryPolicy,
        ids: random.Random,
        rate_limit_per_min: int = 10,
        max_retries: int = 5,
        worker_interval: float = 30.0,
        worker_batch: int = 10,
        attempt_timeout: float = 30.0,
        retention: float | None = None,
        keep_dead_letters: bool = True,
        ip: str | None = None,
        links: Links | None = None,
    ) -> None:
        self.env = env
        self.events = events
        self.directory = directory
        self.policy = policy
        self.rate_limit = rate_limit_per_min
        self.max_retries = max_retries
        self.worker_interval = worker_interval
        self.worker_batch = worker_batch
        self.attempt_timeout = attempt_timeout
        self.keep_dead_letters = keep_dead_letters
        self.ip = ip
        self.links = links
        self._ids = ids
        self.ledger = Ledger("bus", None)
        self.by_nonce: dict[str, BusMessage] = {}
        self.by_id: dict[str, BusMessage] = {}
        forgettable = SETTLED if keep_dead_letters else SETTLED | {"dead_letter", "failed"}
        self.retention = Retention(env, events, "bus", retention, self.by_nonce, forgettable, self._forget)
        #: Sends accepted per sender in the last minute (§4.3); refused sends do not count.
        self.send_windows = SlidingWindow()
        # The worker's view of `status='queued'`: rows by next_retry_at, and those already due
        # by (priority desc, created_at asc). An entry is live while the row is queued under
        # the same schedule (`queue_seq`); stale entries are dropped when met.
        self._due: list[tuple[float, int, BusMessage]] = []
        self._ready: list[tuple[int, float, int, BusMessage]] = []
        self._seq = 0
        self._epoch = 0
        self._created: deque[float] = deque()
        self.sent_by_agent: dict[str, int] = {}
        self.received_by_agent: dict[str, int] = {}
        self.attempts = 0
        self.retries = 0
        self.dead_letters_total = 0
        self.requeues = 0
        self.restarts = 0
        self.rejections_by_code: dict[str, int] = {}
        self.deduped = 0
        self._worker = env.process(self._run_worker(self._epoch))

    def watch(self) -> None:
        """Start emitting transition events (call after sinks subscribe)."""
        self.ledger.hook = self._on_transition

    def _on_transition(self, nonce: str, previous: str | None, next: str, forced: bool) -> None:
        self.events.emit_data("transition", nonce, {"path": "bus", "from": previous, "to": next})

    # -- send --------------------------------------------------------------------------

    def send(self, sender: str | None, recipient: str | None, intent: str | None,
             payload: Any = None, nonce: str | None = None, priority: int = 0) -> simpy.Event:
        """``POST /v1/beam/send``: return an event that triggers with the :class:`BusResponse`."""
        done = self.env.event()
        self.submit(sender, recipient, intent, payload, nonce, priority, done.succeed)
        return done

    def submit(self, sender: str | None, recipient: str | None, intent: str | None,
               payload: Any = None, nonce: str | None = None, priority: int = 0,
               answer: Answer | None = None) -> None:
        """``POST /v1/beam/send`` for callers that take the response as a callback, or not at all."""
        if not sender or not recipient or not intent:
            return self._refuse(answer, nonce, 400, "MISSING_REQUIRED_FIELDS", "from, to and intent are required")
        if payload is None:
            payload = {}
        elif not isinstance(payload, dict):
            return self._refuse(answer, nonce, 400, "INVALID_PAYLOAD", "payload must be an object")
        if nonce is not None:
            existing = self.by_nonce.get(nonce)
            if existing is not None:
                return self._dedupe(answer, existing, sender, recipient, intent, payload)
        if not self.send_windows.hit(sender, self.rate_limit, self.env.now):
            return self._refuse(answer, nonce, 429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded")
        now = self.env.now
        message_id = random_hex_id(self._ids)
        msg = BusMessage(message_id, nonce or random_hex_id(self._ids), sender, recipient, intent,
                         payload, priority, self.max_retries, now)
        self.by_nonce[msg.nonce] = msg
        self.by_id[message_id] = msg
        created = self._created
        created.append(now)
        if created[0] < now - 86400.0:
            created.popleft()
        self.sent_by_agent[sender] = self.sent_by_agent.get(sender, 0) + 1
        self.received_by_agent[recipient] = self.received_by_agent.get(recipient, 0) + 1
        if self.events.active:
            self.events.emit("bus_accepted", msg.nonce, message_id=message_id, sender=sender, recipient=recipient,
                             intent=intent, priority=priority)
        self.ledger.admit(msg)
        if answer is None:
            self._attempt(msg, self._epoch, lambda attempt: self._settle_first(msg, attempt, now))
        else:
            self._attempt(msg, self._epoch, lambda attempt: answer(
                BusResponse(201, self._first_body(msg, attempt, self._settle_first(msg, attempt, now)))))

    def _refuse(self, answer: Answer | None, nonce: str | None, status: int, code: str, message: str) -> None:
        self.rejections_by_code[code] = self.rejections_by_code.get(code, 0) + 1
        if self.events.active:
            self.events.emit("send_rejected", nonce, http_status=status, code=code)
        if answer is not None:
            answer(BusResponse(status, {"error": message, "errorCode": code}))

    def _dedupe(self, answer: Answer | None, msg: BusMessage, sender: str, recipient: str,
                intent: str, payload: dict[str, Any]) -> None:
        same = (msg.sender, msg.recipient, msg.intent) == (sender, recipient, intent) and _canonical(
            msg.payload) == _canonical(payload)
        if not same:
            return self._refuse(answer, msg.nonce, 409, "NONCE_REUSE_CONFLICT",
                                f"Nonce {msg.nonce} was already used with a different message")
        self.deduped += 1
        self.events.emit("deduped", msg.nonce, status=msg.status)
        if answer is not None:
            answer(BusResponse(200, {"message_id": msg.id, "nonce": msg.nonce, "status": msg.status,
                                     "created_at": msg.created_at, "retry_count": msg.retry_count,
                                     "deduped": True}))

    def _settle_first(self, msg: BusMessage, attempt: Attempt, base_time: float) -> Attempt:
        """Apply the outcome of a send's or requeue's synchronous attempt."""
        if attempt.delivered:
            self._deliver(msg, attempt)
        elif is_retryable(attempt.error_code, attempt.http_status):
            self._schedule_retry(msg, 1, base_time, attempt)
        else:
            self._dead_letter(msg, attempt)
        return attempt

    @staticmethod
    def _first_body(msg: BusMessage, attempt: Attempt, _settled: Attempt) -> dict[str, Any]:
        """The JSON body answering a send or requeue once its first attempt settled."""
        body: dict[str, Any] = {"message_id": msg.id, "nonce": msg.nonce, "status": msg.status,
                                "created_at": msg.created_at, "retry_count": msg.retry_count}
        if not attempt.delivered:
            body["error"] = attempt.error
            body["error_code"] = attempt.error_code
        return body

    # -- attempts ----------------------------------------------------------------------

    def _attempt(self, msg: BusMessage, epoch: int, then: Callable[[Attempt], Any]) -> None:
        """Mark ``msg`` dispatched, deliver it through the directory and call ``then``.

        The directory may take longer than :attr:`attempt_timeout`; the bus then aborts
        with ``TIMEOUT`` while the directory keeps waiting for the agent.
        """
        self.ledger.move(msg, "dispatched")
        self.attempts += 1
        msg.attempts += 1
        number = msg.attempts
        settled = [False]

        def settle(attempt: Attempt) -> None:
            if settled[0]:
                return
            settled[0] = True
            if epoch != self._epoch:
                return  # the bus restarted meanwhile; this process no longer exists
            if self.events.active:
                self.events.emit("attempt", msg.nonce, number=number, delivered=attempt.delivered,
                                 http_status=attempt.http_status, code=attempt.error_code, error=attempt.error)
            then(attempt)

        frame = Frame(msg.sender, msg.recipient, msg.intent, msg.payload, msg.nonce, self.env.now)

        def answered(outcome: RelayOutcome) -> None:
            settle(attempt_from_relay(outcome))

        def deliver() -> None:
            self.directory.submit(frame, "http", answered, self.ip)

        effect = self.links.effect("bus->directory") if self.links is not None and self.links.active else None
        if effect is None:
            deliver()
        elif effect.reset:
            settle(_CONNECTION_RESET)
        elif effect.dropped:
            if effect.closes_after is not None and effect.closes_after < self.attempt_timeout:
                self.env.timeout(effect.closes_after).callbacks.append(lambda _event: settle(_CONNECTION_RESET))
        else:
            self.env.timeout(effect.delay).callbacks.append(lambda _event: deliver())
        if not settled[0]:
            self.env.timeout(self.attempt_timeout).callbacks.append(lambda _event: settle(_ABORTED))

    def _deliver(self, msg: BusMessage, attempt: Attempt) -> None:
        msg.delivered_at = msg.finished_at = self.env.now
        msg.response = attempt.response
        self.ledger.move(msg, "delivered")
        self.retention.finished(msg)

    def _schedule_retry(self, msg: BusMessage, retry_count: int, base_time: float, attempt: Attempt) -> None:
        delay = self.policy.retry_delay(retry_count, msg.nonce)
        msg.retry_count = retry_count
        msg.next_retry_at = base_time + delay
        msg.failed_at = None
        msg.error = attempt.error
        self.ledger.move(msg, "queued")
        self._enqueue(msg, msg.next_retry_at)
        if self.events.active:
            self.events.emit("retry_scheduled", msg.nonce, retry_count=retry_count, delay=delay,
                         next_retry_at=msg.next_retry_at, code=attempt.error_code)

    def _dead_letter(self, msg: BusMessage, attempt: Attempt) -> None:
        msg.failed_at = msg.finished_at = self.env.now
        msg.error = attempt.error
        self.dead_letters_total += 1
        self.ledger.move(msg, "dead_letter")
        self.retention.finished(msg)

    # -- the retry worker --------------------------------------------------------------

    def _enqueue(self, msg: BusMessage, at: float) -> None:
        self._seq += 1
        msg.queue_seq = self._seq
        heapq.heappush(self._due, (at, self._seq, msg))

    def _run_worker(self, epoch: int) -> Generator[simpy.Event, Any, None]:
        """Every interval, select up to a batch of due rows and work through them in turn.

        Like Beam's ``setInterval`` there is no re-entrancy guard: a tick starts a new batch
        even while the last one runs, and selects every row still queued, including rows
        the running batch has not reached yet. A batch skips a row that is no longer queued
        when it gets to it, so the same row is never attempted twice at once.
        """
        while epoch == self._epoch:
            yield self.env.timeout(self.worker_interval)
            if epoch != self._epoch:
                return
            batch = self._select_due()
            if batch:
                self.env.process(self._run_batch(batch, epoch))

    def _select_due(self) -> list[tuple[BusMessage, int]]:
        """``status='queued' AND next_retry_at <= now ORDER BY priority DESC, created_at ASC``."""
        now = self.env.now
        due, ready = self._due, self._ready
        while due and due[0][0] <= now:
            _, seq, msg = heapq.heappop(due)
            if msg.queue_seq == seq and msg.status == "queued":
                heapq.heappush(ready, (-msg.priority, msg.created_at, seq, msg))
        taken: list[tuple[int, float, int, BusMessage]] = []
        while ready and len(taken) < self.worker_batch:
            entry = heapq.heappop(ready)
            msg = entry[3]
            if msg.queue_seq == entry[2] and msg.status == "queued":
                taken.append(entry)
        for entry in taken:  # still queued until attempted: later ticks may select them too
            heapq.heappush(ready, entry)
        return [(entry[3], entry[2]) for entry in taken]

    def _run_batch(self, batch: list[tuple[BusMessage, int]], epoch: int) -> Generator[simpy.Event, Any, None]:
        for msg, seq in batch:
            if epoch != self._epoch:
                return
            if msg.status != "queued" or msg.queue_seq != seq:
                continue
            finished = self.env.event()
            self.retries += 1
            self._attempt(msg, epoch, functools.partial(self._after_retry, msg, finished=finished))
            yield finished

    def _after_retry(self, msg: BusMessage, attempt: Attempt, finished: simpy.Event) -> None:
        if attempt.delivered:
            self._deliver(msg, attempt)
        elif not is_retryable(attempt.error_code, attempt.http_status):
            self._dead_letter(msg, attempt)
        else:
            new_count = msg.retry_count + 1
            if self.policy.gives_up(new_count, msg.max_retries):
                self._dead_letter(msg, attempt)
            else:
                self._schedule_retry(msg, new_count, self.env.now, attempt)
        finished.succeed()

    # -- operator API ------------------------------------------------------------------

    def requeue(self, message_id: str) -> simpy.Event:
        """``POST /v1/beam/dead-letter/:id/requeue``: event with the :class:`BusResponse`."""
        done = self.env.event()
        msg = self.by_id.get(message_id)
        if msg is None:
            done.succeed(BusResponse(404, {"error": "Message not found", "errorCode": "MESSAGE_NOT_FOUND"}))
            return done
        if msg.status not in ("dead_letter", "failed"):
            done.succeed(BusResponse(409, {"error": f"Cannot requeue a {msg.status} message",
                                           "errorCode": "INVALID_STATE"}))
            return done
        now = self.env.now
        msg.retry_count = 0
        msg.next_retry_at = msg.delivered_at = msg.acked_at = msg.failed_at = msg.finished_at = None
        msg.error = msg.response = None
        self.requeues += 1
        self.ledger.move(msg, "queued")
        self.events.emit("requeue", msg.nonce, message_id=msg.id)

        self._attempt(msg, self._epoch, lambda attempt: done.succeed(BusResponse(
            200, {**self._first_body(msg, attempt, self._settle_first(msg, attempt, now)), "requeued": True})))
        return done

    def poll(self, agent: str, status: str = "delivered", limit: int = 100,
             since: float | None = None) -> list[BusMessage]:
        """``GET /v1/beam/poll``: rows for ``agent`` in ``status``, oldest first; no state change."""
        limit = max(1, min(limit, 100))
        rows = [m for m in self.by_id.values() if m.recipient == agent and m.status == status
                and (since is None or m.created_at > since)]
        rows.sort(key=lambda m: m.created_at)
        return rows[:limit]

    def ack(self, message_id: str | None, status: str | None, response: Any = None) -> BusResponse:
        """``POST /v1/beam/ack``: move a row to ``acked`` or ``failed`` through the guard."""
        if not message_id:
            return BusResponse(400, {"error": "message_id is required", "errorCode": "MISSING_MESSAGE_ID"})
        if status not in ("acked", "failed"):
            return BusResponse(400, {"error": "status must be acked or failed", "errorCode": "INVALID_STATUS"})
        msg = self.by_id.get(message_id)
        if msg is None:
            return BusResponse(404, {"error": "Message not found", "errorCode": "MESSAGE_NOT_FOUND"})
        if not is_allowed(msg.status, status, "bus"):
            return BusResponse(409, {"error": f"Invalid bus transition from {msg.status} to {status}",
                                     "errorCode": "INVALID_STATE"})
        now = msg.finished_at = self.env.now
        if status == "acked":
            msg.acked_at = now
            msg.response = response
        else:
            msg.failed_at = now
            msg.error = json.dumps(response) if response is not None else "Manually failed"
        self.ledger.move(msg, status)
        self.retention.finished(msg)
        return BusResponse(200, msg.view())

    def dead_letters(self, sender: str | None = None, recipient: str | None = None,
                     intent: str | None = None, limit: int = 100) -> list[BusMessage]:
        """``GET /v1/beam/dead-letter``: newest failures first."""
        limit = max(1, min(limit, 500))
        rows = [m for m in self.by_id.values() if m.status == "dead_letter"
                and (sender is None or m.sender == sender)
                and (recipient is None or m.recipient == recipient)
                and (intent is None or m.intent == intent)]
        rows.sort(key=lambda m: (m.failed_at or 0.0, m.created_at), reverse=True)
        return rows[:limit]

    def restart(self) -> None:
        """Restart the bus process (§4.7): in-flight attempts die, rows are recovered."""
        self._epoch += 1
        self.restarts += 1
        self.send_windows.clear()
        now = self.env.now
        recovered = sorted((m for m in self.by_id.values() if m.status in ("received", "dispatched")),
                           key=lambda m: m.created_at)
        for msg in recovered:
            msg.next_retry_at = now
            msg.error = RESTART_ERROR
            self.ledger.move(msg, "queued")
            self._enqueue(msg, now)
        self.events.emit("restart", None, component="bus", recovered=len(recovered))
        self._worker = self.env.process(self._run_worker(self._epoch))

    def stats(self) -> dict[str, Any]:
        """``GET /v1/beam/stats``: totals by status, per-agent counts and the last 24 h."""
        now = self.env.now
        while self._created and self._created[0] < now - 86400.0:
            self._created.popleft()
        counts = self.ledger.counts
        agents = sorted(set(self.sent_by_agent) | set(self.received_by_agent))
        return {
            "total": self.ledger.accepted,
            **{state: counts[state] for state in
               ("queued", "received", "dispatched", "delivered", "acked", "failed", "dead_letter")},
            "by_agent": {a: {"sent": self.sent_by_agent.get(a, 0), "received": self.received_by_agent.get(a, 0)}
                         for a in agents},
            "last_24h": len(self._created),
        }

    def _forget(self, msg: BusMessage) -> None:
        self.by_id.pop(msg.id, None)


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
