"""Beam's message bus on virtual time (beam-model §4, requirements §14.3–§14.11).

Send validation and dedupe, the per-sender sliding window
(:class:`~simulator.beam.ratelimit.SlidingWindow`), one synchronous attempt (a
:class:`~simulator.beam.busattempt.DeliveryAttempt`), the retry worker (its queue a
:class:`~simulator.beam.retryqueue.RetryQueue`), dead letters,
requeue, poll and ack, restart recovery and stats. Every status change goes through the
bus :class:`~simulator.kernel.lifecycle.Ledger`.
"""

from __future__ import annotations

import functools
import json
import random
from collections import deque
from typing import Any, Callable, Final, Generator

import simpy

from simulator.beam.busattempt import CONNECTION_RESET, DeliveryAttempt, attempt_from_relay
from simulator.beam.busmarks import (
    RESTART_ERROR, LifecycleRefused, js_stringify, js_truthy, mark_acked, mark_dead_letter, mark_delivered,
    mark_dispatched, mark_failed, recover, requeue_message, schedule_retry,
)
from simulator.beam.breaker import CircuitBreaker
from simulator.beam.budget import RetryBudget
from simulator.beam.busrows import Answer, Attempt, BusMessage, BusResponse, poll_item
from simulator.beam.limitseam import RateLimitListener, SendLimitSeam
from simulator.beam.links import Links
from simulator.beam.ratelimit import SlidingWindow
from simulator.beam.retryqueue import RetryQueue
from simulator.beam.relay import NO_RESPONSE, Frame, FrameRelay
from simulator.kernel.events import EventStream
from simulator.kernel.lifecycle import Ledger
from simulator.kernel.retention import Retention
from simulator.beam.retry import RetryPolicy, is_retryable
from simulator.beam.retryseam import BreakerMaker, BudgetMaker, RetrySeam
from simulator.kernel.rng import random_hex_id

__all__ = ["BreakerMaker", "BudgetMaker", "CIRCUIT_OPEN", "RESTART_ERROR", "RETRY_BUDGET_EXHAUSTED", "SETTLED",
           "INTERNAL_ERROR", "UNREACHABLE", "Bus", "LifecycleRefused", "attempt_from_relay"]

#: Bus statuses whose rows are done with unless an operator acts (retention may forget them).
SETTLED: Final[frozenset[str]] = frozenset({"delivered", "acked"})

#: What a sender gets while the bus process is down (its store destroyed): no HTTP answer.
UNREACHABLE: Final[BusResponse] = BusResponse(NO_RESPONSE, {"error": "connect ECONNREFUSED",
                                                            "errorCode": "DELIVERY_FAILED"})
#: What Hono answers when a handler throws (no ``onError`` in the bus): a plain-text 500.
INTERNAL_ERROR: Final[BusResponse] = BusResponse(500, {}, "Internal Server Error")
#: The code of an attempt an open (or full half-open) circuit breaker failed fast.
CIRCUIT_OPEN: Final[str] = "CIRCUIT_OPEN"
#: The code of a row dead-lettered because the retry budget refused its retry.
RETRY_BUDGET_EXHAUSTED: Final[str] = "RETRY_BUDGET_EXHAUSTED"


class Bus:
    """The message bus: the API of §4 and the 30 s retry worker.

    Two guards, off unless a maker is given, work per sender→recipient pair (both reset
    when the bus restarts: they live in its memory):

    - a retry budget (``budget``, Finagle's shape): every new message and every requeue
      deposits; every retry the policy decides on withdraws, at the decision, as
      Finagle's ``RetryFilter`` does before its backoff. A refused withdrawal fails the
      request as Finagle does: the row is dead-lettered at once with
      ``RETRY_BUDGET_EXHAUSTED`` (its text names the pair and the last attempt's error).
    - a circuit breaker (``breaker``, resilience4j's shape) around every attempt (first
      sends, retries, requeues): an attempt it refuses fails fast with ``CIRCUIT_OPEN``,
      without calling the directory, and is a failed attempt like any other (retried per
      the policy); a permitted attempt's outcome and duration are recorded in it.
    """

    def __init__(
        self,
        env: simpy.Environment,
        events: EventStream,
        directory: FrameRelay,
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
        budget: BudgetMaker | None = None,
        breaker: BreakerMaker | None = None,
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
        #: The worker's view of ``status='queued'`` rows.
        self.retry_queue = RetryQueue()
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
        #: Row updates Beam's transition table refused (operator actions racing attempts).
        self.refused_updates = 0
        #: Presets other than Beam's name themselves in ``retry_scheduled`` events.
        self._policy_name = None if policy.name == "beam" else policy.name
        #: Beam's policy and no budget: a first failure is retried without asking anything.
        self._beam_retries = policy.name == "beam" and budget is None
        self._make_budget = budget
        self._make_breaker = breaker
        #: Each pair's retry budget and circuit breaker (None while the guard is off).
        self.budgets: dict[tuple[str, str], RetryBudget] | None = None if budget is None else {}
        self.breakers: dict[tuple[str, str], CircuitBreaker] | None = None if breaker is None else {}
        self.budget_refusals = 0
        self.breaker_rejections = 0
        #: Breaker transitions so far, by the state moved to.
        self.breaker_transitions: dict[str, int] = {}
        self._breaker_caller: str | None = None  # the nonce whose call a breaker transition follows
        #: False while the process is down (its store destroyed, awaiting a restore).
        self.up = True
        #: Picks each new intent's retry policy (a staged change); None: the bus's own for all.
        self.seam: RetrySeam | None = None
        #: Another per-sender limit for a cohort's senders (a staged change); None: the bus's for all.
        self.limit_seam: SendLimitSeam | None = None
        #: Told of every send the per-sender limit refused (None: nobody listens).
        self.on_rate_limited: RateLimitListener | None = None
        self._worker = env.process(self._run_worker(self._epoch))

    def watch(self) -> None:
        """Start emitting transition events (call after sinks subscribe)."""
        self.ledger.hook = self._on_transition

    def _on_transition(self, nonce: str, previous: str | None, next: str, forced: bool) -> None:
        self.events.emit_data("transition", nonce, {"path": "bus", "from": previous, "to": next})

    # -- send ----------------------------------------------------------------------------

    def send(self, sender: str | None, recipient: str | None, intent: str | None,
             payload: Any = None, nonce: str | None = None, priority: int = 0) -> simpy.Event:
        """``POST /v1/beam/send``: return an event that triggers with the :class:`BusResponse`."""
        done = self.env.event()
        self.submit(sender, recipient, intent, payload, nonce, priority, done.succeed)
        return done

    @property
    def epoch(self) -> int:
        """The bus process's incarnation: each restart starts a new one."""
        return self._epoch

    def submit(self, sender: str | None, recipient: str | None, intent: str | None,
               payload: Any = None, nonce: str | None = None, priority: int = 0,
               answer: Answer | None = None) -> None:
        """``POST /v1/beam/send`` for callers that take the response as a callback, or not at all.

        A nonce is trimmed, and a blank one is replaced by a fresh UUID, as in Beam.
        """
        if not self.up:
            if answer is not None:
                answer(UNREACHABLE)
            return None
        if nonce is not None:
            nonce = nonce.strip() or None
        if not sender or not recipient or not intent:
            return self._refuse(answer, nonce, 400, "MISSING_REQUIRED_FIELDS", "Missing required fields: from, to, intent")
        if payload is None:
            payload = {}
        elif not isinstance(payload, dict):
            return self._refuse(answer, nonce, 400, "INVALID_PAYLOAD", "payload must be an object")
        if nonce is not None:
            existing = self.by_nonce.get(nonce)
            if existing is not None:
                return self._dedupe(answer, existing, sender, recipient, intent, payload)
        seam = self.limit_seam
        limit = self.rate_limit if seam is None else seam.limit_for(sender, self.rate_limit)
        if not self.send_windows.hit(sender, limit, self.env.now):
            if self.on_rate_limited is not None:
                self.on_rate_limited(self.env.now, sender, recipient, "bus_sender")
            return self._refuse(answer, nonce, 429, "RATE_LIMIT_EXCEEDED",
                                f"Rate limit exceeded for {sender} (max {limit}/min)")
        msg = self._insert(sender, recipient, intent, payload, nonce, priority, self.max_retries, None)
        if seam is not None:
            seam.accepted(msg)
        if self.seam is not None:
            self.seam.pin(msg)
        created_at = msg.created_at
        if self.budgets is not None or self.seam is not None:
            budget = self._budget(msg)
            if budget is not None:
                budget.deposit(created_at)
        mark_dispatched(self.ledger, msg)
        if answer is None:
            self._attempt(msg, self._epoch, lambda attempt: self._settle_send(msg, attempt, created_at))
        else:
            self._attempt(msg, self._epoch, lambda attempt: answer(self._settle_send(msg, attempt, created_at)))

    def _insert(self, sender: str, recipient: str, intent: str, payload: dict[str, Any], nonce: str | None,
                priority: int, max_retries: int, trace_id: str | None) -> BusMessage:
        """``insertMessage``: store a new row in ``received``."""
        now = self.env.now
        message_id = random_hex_id(self._ids)
        msg = BusMessage(message_id, nonce or random_hex_id(self._ids), sender, recipient, intent,
                         payload, priority, max_retries, now)
        msg.trace_id = trace_id
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
        return msg

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
                                f"Nonce {msg.nonce} already belongs to a different message")
        self.deduped += 1
        self.events.emit("deduped", msg.nonce, status=msg.status)
        if answer is not None:
            answer(BusResponse(200, {"message_id": msg.id, "nonce": msg.nonce, "status": msg.status,
                                     "created_at": msg.created_at, "retry_count": msg.retry_count,
                                     "deduped": True}))

    def _settle_send(self, msg: BusMessage, attempt: Attempt, created_at: float) -> BusResponse:
        """Apply a send's synchronous attempt and build the 201 answer (router.ts ``/send``)."""
        head: dict[str, Any] = {"message_id": msg.id, "nonce": msg.nonce}
        try:
            outcome = self._settle_first(msg, attempt, created_at)
        except LifecycleRefused as refused:
            self._refused(msg, refused, "send")
            return INTERNAL_ERROR
        head["status"] = outcome
        head["created_at"] = created_at
        return BusResponse(201, {**head, **self._failure_keys(msg, attempt, outcome)})

    def _settle_first(self, msg: BusMessage, attempt: Attempt, base_time: float) -> str:
        """Apply the outcome of a send's or requeue's synchronous attempt; return the status
        it leaves the row in. Raises :class:`LifecycleRefused` when Beam's table refuses."""
        if attempt.delivered:
            self._deliver(msg)
            return "delivered"
        if is_retryable(attempt.error_code, attempt.http_status):
            # Beam's sendMessage: the first failure is always retried (unless a change pinned a budget)
            if self._beam_retries and self._policy(msg) is self.policy and (self.seam is None or
                                                                             self._budget(msg) is None):
                self._schedule_retry(msg, 1, base_time, attempt)
                return "queued"
            return "queued" if self._retry(msg, 1, base_time, attempt) else "dead_letter"
        self._dead_letter(msg, attempt)
        return "dead_letter"

    @staticmethod
    def _failure_keys(msg: BusMessage, attempt: Attempt, outcome: str) -> dict[str, Any]:
        """The keys a send or requeue answer adds after a failed attempt; ``error_code`` is
        left out when the directory gave none (JSON drops an ``undefined``)."""
        keys: dict[str, Any] = {}
        if outcome == "queued":
            keys["retry_count"] = msg.retry_count
            keys["next_retry_at"] = msg.next_retry_at
        if outcome != "delivered":
            keys["error"] = attempt.error
            if attempt.error_code is not None:
                keys["error_code"] = attempt.error_code
        return keys

    def _refused(self, msg: BusMessage, refused: LifecycleRefused, where: str) -> None:
        """A row update Beam's table refused: the row keeps its status; count and tell."""
        self.refused_updates += 1
        if self.events.active:
            self.events.emit("update_refused", msg.nonce, where=where, **{"from": refused.previous, "to": refused.next})

    # -- attempts ----------------------------------------------------------------------

    def _attempt(self, msg: BusMessage, epoch: int, then: Callable[[Attempt], Any]) -> None:
        """Deliver the (already dispatched) ``msg`` through the directory and call ``then``.

        The directory may take longer than :attr:`attempt_timeout`; the bus then aborts
        with ``TIMEOUT`` while the directory keeps waiting for the agent.
        """
        if self.breakers is not None or self.seam is not None:
            breaker = self._breaker(msg)
            if breaker is not None:
                self._breaker_caller = msg.nonce
                if not breaker.try_acquire(self.env.now):
                    return self._fail_fast(msg, breaker, then)
                then = functools.partial(self._recorded, breaker, self.env.now, msg.nonce, then)
        self.attempts += 1
        msg.attempts += 1
        frame = Frame(msg.sender, msg.recipient, msg.intent, msg.payload, msg.nonce, self.env.now)
        attempt = DeliveryAttempt(self, msg, epoch, then, frame)
        effect = self.links.effect("bus->directory") if self.links is not None and self.links.active else None
        if effect is None:
            attempt.deliver()
        elif effect.reset:
            attempt.settle(CONNECTION_RESET)
        elif effect.dropped:
            if effect.closes_after is not None and effect.closes_after < self.attempt_timeout:
                self.env.timeout(effect.closes_after).callbacks.append(attempt.reset)
        else:
            self.env.timeout(effect.delay).callbacks.append(attempt.deliver)
        if not attempt.settled:
            self.env.timeout(self.attempt_timeout).callbacks.append(attempt.abort)

    def _fail_fast(self, msg: BusMessage, breaker: CircuitBreaker, then: Callable[[Attempt], Any]) -> None:
        """The pair's breaker refused the attempt: it fails at once with ``CIRCUIT_OPEN``,
        without calling the directory, and counts as an attempt."""
        self.attempts += 1
        msg.attempts += 1
        self.breaker_rejections += 1
        attempt = Attempt(False, None, CIRCUIT_OPEN, f"Circuit breaker {breaker.state} for {msg.sender} -> "
                                                     f"{msg.recipient}")
        if self.events.active:
            self.events.emit("breaker_rejected", msg.nonce, sender=msg.sender, recipient=msg.recipient,
                             state=breaker.state)
            self.events.emit("attempt", msg.nonce, number=msg.attempts, delivered=False, http_status=None,
                             code=CIRCUIT_OPEN, error=attempt.error)
        then(attempt)

    def _recorded(self, breaker: CircuitBreaker, started: float, nonce: str, then: Callable[[Attempt], Any],
                  attempt: Attempt) -> None:
        """Record a permitted attempt's outcome and duration in its breaker, then go on."""
        self._breaker_caller = nonce
        breaker.record(self.env.now, attempt.delivered, self.env.now - started)
        then(attempt)

    def _deliver(self, msg: BusMessage) -> None:
        mark_delivered(self.ledger, msg, self.env.now)
        self.retention.finished(msg)

    def _retry(self, msg: BusMessage, retry_count: int, base_time: float, attempt: Attempt) -> bool:
        """After a retryable failure (the row's ``retry_count``-th): schedule the retry, or
        dead-letter the row when the policy gives up or the retry budget refuses. Return
        whether a retry was scheduled. (The worker's path inlines the same steps.)"""
        if self._policy(msg).gives_up(retry_count, msg.max_retries):
            self._dead_letter(msg, attempt)
            return False
        if not self._retry_allowed(msg):
            self._refuse_retry(msg, retry_count, attempt)
            return False
        self._schedule_retry(msg, retry_count, base_time, attempt)
        return True

    def _schedule_retry(self, msg: BusMessage, retry_count: int, base_time: float, attempt: Attempt) -> None:
        policy = self._policy(msg)
        retry_delay: Any = policy.retry_delay  # untyped call: compiled, a float result would turn Beam's int delays to floats
        delay = retry_delay(retry_count, msg.nonce, msg.backoff)
        msg.backoff = delay
        schedule_retry(self.ledger, msg, retry_count, base_time + delay, attempt.error or "")
        msg.error_code = attempt.error_code
        self.retry_queue.put(msg, base_time + delay)
        if self.events.active:
            name = self._policy_name if policy is self.policy else policy.name
            if name is None:
                self.events.emit("retry_scheduled", msg.nonce, retry_count=retry_count, delay=delay,
                                 next_retry_at=msg.next_retry_at, code=attempt.error_code)
            else:
                self.events.emit("retry_scheduled", msg.nonce, retry_count=retry_count, delay=delay,
                                 next_retry_at=msg.next_retry_at, code=attempt.error_code, policy=name)

    def _policy(self, msg: BusMessage) -> RetryPolicy:
        """The retry policy ``msg`` was sent under (:mod:`simulator.beam.retryseam`)."""
        return self.policy if self.seam is None else self.seam.policy_of(msg, self.policy)

    # -- retry budget and circuit breaker ----------------------------------------------

    def _budget(self, msg: BusMessage) -> RetryBudget | None:
        """The retry budget of ``msg``'s pair, made on first use: the one its pinned guards
        keep (:mod:`simulator.beam.retryseam`), else the bus's own; None when neither has one."""
        key = (msg.sender, msg.recipient)
        if self.seam is not None:
            guards = self.seam.guards_of(msg)
            if guards is not None and guards.make_budget is not None:
                return guards.budget(key, self.env.now)
        if self.budgets is None or self._make_budget is None:
            return None
        budget = self.budgets.get(key)
        if budget is None:
            budget = self.budgets[key] = self._make_budget(self.env.now)
        return budget

    def _retry_allowed(self, msg: BusMessage) -> bool:
        """Pay for one retry of ``msg`` from its pair's budget; True when it has none."""
        if self.budgets is None and self.seam is None:
            return True
        budget = self._budget(msg)
        return budget is None or budget.try_withdraw(self.env.now)

    def _refuse_retry(self, msg: BusMessage, retry_count: int, attempt: Attempt) -> None:
        """The budget refused retry ``retry_count``: the request fails, so the row is
        dead-lettered now with the budget's code and the last attempt's error."""
        self.budget_refusals += 1
        if self.events.active:
            budget = self._budget(msg)
            assert budget is not None
            self.events.emit("retry_budget_refused", msg.nonce, sender=msg.sender, recipient=msg.recipient,
                             retry_count=retry_count, code=attempt.error_code, balance=budget.balance(self.env.now))
        self._dead_letter(msg, Attempt(False, attempt.http_status, RETRY_BUDGET_EXHAUSTED,
                                       f"Retry budget exhausted for {msg.sender} -> {msg.recipient} "
                                       f"(last error: {attempt.error})"))

    def _breaker(self, msg: BusMessage) -> CircuitBreaker | None:
        """The circuit breaker of ``msg``'s pair, made on first use: the one its pinned
        guards keep, else the bus's own; None when neither has one."""
        key = (msg.sender, msg.recipient)
        if self.seam is not None:
            guards = self.seam.guards_of(msg)
            if guards is not None and guards.make_breaker is not None:
                return guards.breaker(key, functools.partial(self._breaker_moved, key))
        if self.breakers is None or self._make_breaker is None:
            return None
        breaker = self.breakers.get(key)
        if breaker is None:
            breaker = self.breakers[key] = self._make_breaker(functools.partial(self._breaker_moved, key))
        return breaker

    def _breaker_moved(self, pair: tuple[str, str], previous: str, to: str, reason: str) -> None:
        self.breaker_transitions[to] = self.breaker_transitions.get(to, 0) + 1
        if self.events.active:
            self.events.emit("breaker_transition", self._breaker_caller, sender=pair[0], recipient=pair[1],
                             **{"from": previous, "to": to}, reason=reason)

    def _dead_letter(self, msg: BusMessage, attempt: Attempt) -> None:
        mark_dead_letter(self.ledger, msg, self.env.now, attempt.error or "")
        msg.error_code = attempt.error_code
        self.dead_letters_total += 1
        self.retention.finished(msg)

    # -- the retry worker --------------------------------------------------------------

    def _run_worker(self, epoch: int) -> Generator[simpy.Event, Any, None]:
        """Every interval, select up to a batch of due rows and work through them in turn.

        Like Beam's ``setInterval`` there is no re-entrancy guard: a tick starts a new batch
        even while the last one runs, and selects every row still queued, including rows
        the running batch has not reached yet. A batch skips a row another batch holds
        (dispatched, or queued again under a new schedule), so the same row is never
        attempted twice at once.
        """
        while epoch == self._epoch:
            yield self.env.timeout(self.worker_interval)
            if epoch != self._epoch:
                return
            batch = self.retry_queue.take(self.env.now, self.worker_batch)
            if batch:
                self.env.process(self._run_batch(batch, epoch))

    def _run_batch(self, batch: list[tuple[BusMessage, int]], epoch: int) -> Generator[simpy.Event, Any, None]:
        """Work through ``batch`` one row at a time. A row update Beam's table refuses (an
        operator failed or acked the row meanwhile) throws inside Beam's loop, whose
        ``catch`` ends the whole batch: the rows after it wait for a later tick."""
        for msg, seq in batch:
            if epoch != self._epoch:
                return
            if msg.status == "dispatched" or (msg.status == "queued" and msg.queue_seq != seq):
                continue
            try:
                mark_dispatched(self.ledger, msg)
            except LifecycleRefused as refused:
                self._refused(msg, refused, "worker")
                return
            finished = self.env.event()
            self.retries += 1
            self._attempt(msg, epoch, functools.partial(self._after_retry, msg, retry_count=msg.retry_count,
                                                        finished=finished))
            aborted = yield finished
            if aborted:
                return

    def _after_retry(self, msg: BusMessage, attempt: Attempt, retry_count: int, finished: simpy.Event) -> None:
        """Apply a worker attempt; ``retry_count`` is the row's count when the batch took it."""
        try:
            if attempt.delivered:
                self._deliver(msg)
            elif not is_retryable(attempt.error_code, attempt.http_status):
                self._dead_letter(msg, attempt)
            else:
                new_count = retry_count + 1
                if self._policy(msg).gives_up(new_count, msg.max_retries):
                    self._dead_letter(msg, attempt)
                elif self._retry_allowed(msg):
                    self._schedule_retry(msg, new_count, self.env.now, attempt)
                else:
                    self._refuse_retry(msg, new_count, attempt)
        except LifecycleRefused as refused:
            self._refused(msg, refused, "worker")
            finished.succeed(True)
            return
        finished.succeed(False)

    # -- operator API ------------------------------------------------------------------

    def requeue(self, message_id: str) -> simpy.Event:
        """``POST /v1/beam/dead-letter/:id/requeue``: event with the :class:`BusResponse`."""
        done = self.env.event()
        msg = self.by_id.get(message_id)
        if msg is None:
            done.succeed(BusResponse(404, {"error": f"Message {message_id} not found", "errorCode": "MESSAGE_NOT_FOUND"}))
            return done
        if msg.status not in ("dead_letter", "failed"):
            done.succeed(BusResponse(409, {"error": f"Message {message_id} is not in a requeueable state",
                                           "errorCode": "INVALID_STATE"}))
            return done
        requeue_message(self.ledger, msg)
        msg.error_code = None
        self.requeues += 1
        if self.budgets is not None or self.seam is not None:
            budget = self._budget(msg)
            if budget is not None:
                budget.deposit(self.env.now)
        self.events.emit("requeue", msg.nonce, message_id=msg.id)
        mark_dispatched(self.ledger, msg)
        self._attempt(msg, self._epoch, lambda attempt: done.succeed(self._settle_requeue(msg, attempt)))
        return done

    def _settle_requeue(self, msg: BusMessage, attempt: Attempt) -> BusResponse:
        """Apply a requeue's synchronous attempt and build the 200 answer; a retry is due
        ``delay(1)`` after the attempt ended (Beam reads the clock then)."""
        try:
            outcome = self._settle_first(msg, attempt, self.env.now)
        except LifecycleRefused as refused:
            self._refused(msg, refused, "requeue")
            return INTERNAL_ERROR
        body = {"message_id": msg.id, "nonce": msg.nonce, "status": outcome, "requeued": True}
        return BusResponse(200, {**body, **self._failure_keys(msg, attempt, outcome)})

    def poll(self, agent: str | None, status: str = "delivered", limit: int = 10,
             since: float | None = None) -> BusResponse:
        """``GET /v1/beam/poll``: ``{messages, count}`` for ``agent``'s rows in ``status``,
        oldest first, each as Beam's fixed projection (:func:`poll_item`); no state change.

        ``limit`` is capped at 100 (and, as SQLite's ``LIMIT``, a negative one is no limit);
        a ``since`` of 0 is no filter, as in Beam.
        """
        if not agent:
            return BusResponse(400, {"error": "agent query parameter is required", "errorCode": "MISSING_AGENT"})
        limit = min(limit, 100)
        rows = [m for m in self.by_id.values() if m.recipient == agent and m.status == status
                and (not since or m.created_at > since)]
        rows.sort(key=lambda m: m.created_at)
        messages = [poll_item(m) for m in (rows if limit < 0 else rows[:limit])]
        return BusResponse(200, {"messages": messages, "count": len(messages)})

    def ack(self, message_id: str | None, status: str | None = None, response: Any = None) -> BusResponse:
        """``POST /v1/beam/ack``: move a row to ``acked`` (the default) or ``failed``.

        A ``failed`` row stores ``response`` as ``JSON.stringify`` writes it, or "Manually
        failed". A row Beam's table does not let go there is a 409 with Beam's message; an
        attempt in flight for a row failed here finds its own update refused later.
        """
        if status is None:
            status = "acked"
        if not message_id:
            return BusResponse(400, {"error": "message_id is required", "errorCode": "MISSING_MESSAGE_ID"})
        if status not in ("acked", "failed"):
            return BusResponse(400, {"error": 'status must be "acked" or "failed"', "errorCode": "INVALID_STATUS"})
        msg = self.by_id.get(message_id)
        if msg is None:
            return BusResponse(404, {"error": f"Message {message_id} not found", "errorCode": "MESSAGE_NOT_FOUND"})
        now = self.env.now
        try:
            if status == "acked":
                mark_acked(self.ledger, msg, now, response)
            else:
                mark_failed(self.ledger, msg, now, js_stringify(response) if js_truthy(response) else "Manually failed")
                msg.error_code = None
        except LifecycleRefused as refused:
            return BusResponse(409, {"error": str(refused), "errorCode": "INVALID_STATE"})
        self.retention.finished(msg)
        return BusResponse(200, {"message_id": message_id, "status": status, "updated_at": now})

    # -- seeding rows (Beam's db layer, as its tests use it) ------------------------------

    def insert_message(self, sender: str, recipient: str, intent: str, payload: dict[str, Any] | None = None,
                       nonce: str | None = None, priority: int = 0, max_retries: int | None = None,
                       trace_id: str | None = None) -> str:
        """``insertMessage``: store a row in ``received`` without any attempt; return its id.

        With :meth:`mark` this seeds rows in any state, as Beam's own tests do (a row
        ``received`` but never dispatched, one ``dispatched`` when the bus restarts, ...).
        No rate limit, dedupe or validation applies: a nonce in use raises ``ValueError``
        (Beam's UNIQUE index).
        """
        nonce = (nonce or "").strip() or None
        if nonce is not None and nonce in self.by_nonce:
            raise ValueError(f"UNIQUE constraint failed: beam_messages.nonce ({nonce})")
        max_retries = self.max_retries if max_retries is None else max_retries
        return self._insert(sender, recipient, intent, payload or {}, nonce, priority, max_retries, trace_id).id

    def mark(self, message_id: str, status: str, error: str = "", retry_count: int = 1,
             next_retry_at: float | None = None, response: Any = None) -> None:
        """Apply Beam's row update that leads to ``status`` (``markDispatched``,
        ``markDelivered``, ``markAcked``, ``markFailed``, ``markDeadLetter``, or
        ``scheduleRetry`` for ``queued``: due at ``next_retry_at``, now by default).

        Raises :class:`LifecycleRefused` when Beam's transition table refuses it, and
        ``KeyError`` for an unknown id. A queued row is picked up by the retry worker.
        """
        msg = self.by_id[message_id]
        now = self.env.now
        if status == "dispatched":
            mark_dispatched(self.ledger, msg)
        elif status == "delivered":
            self._deliver(msg)
        elif status == "acked":
            mark_acked(self.ledger, msg, now, response)
            self.retention.finished(msg)
        elif status == "failed":
            mark_failed(self.ledger, msg, now, error)
            self.retention.finished(msg)
        elif status == "dead_letter":
            mark_dead_letter(self.ledger, msg, now, error)
            self.dead_letters_total += 1
            self.retention.finished(msg)
        elif status == "queued":
            due = now if next_retry_at is None else next_retry_at
            schedule_retry(self.ledger, msg, retry_count, due, error)
            self.retry_queue.put(msg, due)
        else:
            raise ValueError(f"cannot mark a bus row {status!r}")

    def get_message(self, message_id: str) -> BusMessage | None:
        """``getMessage``: the row with this id, or None."""
        return self.by_id.get(message_id)

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

    def clean_test_messages(self) -> int:
        """``cleanTestMessages``: delete every row whose sender or recipient is like
        ``%@test.%`` or ``%@demo.%`` (SQLite's LIKE: ASCII case ignored); return how many.

        The rows leave the store as a prune does (counted as compacted, so conservation
        still holds); Beam runs this at start when ``BEAM_BUS_CLEAN_TEST_DATA=true``.
        """
        doomed = [msg for msg in self.by_id.values() if _test_or_demo(msg.sender) or _test_or_demo(msg.recipient)]
        for msg in doomed:
            self.retention.compact(msg)
        return len(doomed)

    def restart(self, clean_test_data: bool = False) -> None:
        """Restart the bus process (§4.7): in-flight attempts die, rows are recovered, then
        with ``clean_test_data`` (``BEAM_BUS_CLEAN_TEST_DATA=true``) test and demo rows go."""
        self._epoch += 1
        self.restarts += 1
        self.send_windows.clear()
        if self.budgets is not None:
            self.budgets.clear()
        if self.breakers is not None:
            self.breakers.clear()
        if self.seam is not None:
            self.seam.restart()
        now = self.env.now
        recovered = sorted((m for m in self.by_id.values() if m.status in ("received", "dispatched")),
                           key=lambda m: m.created_at)
        for msg in recovered:
            recover(self.ledger, msg, now)
            self.retry_queue.put(msg, now)
        self.events.emit("restart", None, component="bus", recovered=len(recovered))
        if clean_test_data:
            self.clean_test_messages()
        self._worker = self.env.process(self._run_worker(self._epoch))

    def stop(self) -> None:
        """The process dies (its store was destroyed): attempts under way and the worker
        end, and sends find nobody until :meth:`start`."""
        if not self.up:
            return
        self.up = False
        self._epoch += 1
        self.events.emit("bus_down", None)

    def start(self) -> None:
        """Boot the process again: the restart recovery of §4.7 runs over the rows it holds."""
        if self.up:
            return
        self.up = True
        self.restart()

    def reload(self, created: tuple[float, ...]) -> None:
        """Rebuild what the process derives from its rows after they were replaced (a
        restore): the retry worker's queue and the 24-hour window of ``created`` times."""
        self._created = deque(created)
        self.retry_queue.clear()
        now = self.env.now
        for msg in sorted(self.by_id.values(), key=lambda m: m.created_at):
            if msg.status == "queued":
                self.retry_queue.put(msg, now if msg.next_retry_at is None else msg.next_retry_at)

    def created_times(self) -> tuple[float, ...]:
        """When each row of the last 24 hours was created (what stats' ``last_24h`` counts)."""
        return tuple(self._created)

    def stats(self) -> dict[str, Any]:
        """``GET /v1/beam/stats``: totals by status, per-agent counts and the last 24 h."""
        now = self.env.now
        while self._created and self._created[0] < now - 86400.0:
            self._created.popleft()
        counts = self.ledger.counts
        agents = sorted(set(self.sent_by_agent) | set(self.received_by_agent))
        return {
            "total": self.ledger.accepted - len(self.ledger.lost_in_restore),
            **{state: counts[state] for state in
               ("queued", "received", "dispatched", "delivered", "acked", "failed", "dead_letter")},
            "by_agent": {a: {"sent": self.sent_by_agent.get(a, 0), "received": self.received_by_agent.get(a, 0)}
                         for a in agents},
            "last_24h": len(self._created),
        }

    def _forget(self, msg: BusMessage) -> None:
        self.by_id.pop(msg.id, None)


def _test_or_demo(agent: str) -> bool:
    lowered = agent.lower()
    return "@test." in lowered or "@demo." in lowered


def _canonical(payload: Any) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
