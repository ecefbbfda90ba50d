"""Client-side retries: a sender that retries its own sends to the directory (over HTTP
or WebSocket) when they are refused, fail or take longer than its timeout.

A send is a chain of attempts of one frame under one nonce (Beam's idempotency key), each
stamped with the sender's clock when it leaves. An attempt ends at the first of:

- the directory's answer: a success ends the send; a failure the bus would retry
  (:func:`~simulator.beam.retry.is_retryable`: 408, 409, 429, 5xx, no response, a
  ``success:false`` result) is retried, any other ends it;
- the client's ``timeout``: the client stops waiting (``CLIENT_TIMEOUT``) and may retry.
  Giving up cancels nothing: the directory keeps waiting for the recipient, and work the
  recipient already took (running, or queued behind its busy slots) is still done. The
  directory's later answer to that attempt reaches nobody.

Before a retry the policy (a preset of :mod:`simulator.beam.backoff`) may give up; then,
when a retry budget guards the pair, the retry must be paid for, else the send gives up.
A circuit breaker, when on, is asked before every attempt (a refusal fails the attempt at
once with ``CIRCUIT_OPEN``, without calling the directory) and told every permitted
attempt's outcome and duration. Budgets and breakers are per sender→recipient pair, as
the bus's, and are made by the same makers. Every decision is an event (``client_*``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Final

import simpy

from simulator.beam.breaker import CircuitBreaker, TransitionListener
from simulator.beam.budget import RetryBudget
from simulator.beam.relay import Frame, Origin, RelayOutcome
from simulator.beam.retry import RetryPolicy, is_retryable
from simulator.kernel.events import EventStream

#: The code of an attempt the client stopped waiting for.
CLIENT_TIMEOUT: Final[str] = "CLIENT_TIMEOUT"
#: The code of an attempt the pair's open (or full half-open) breaker failed fast.
CIRCUIT_OPEN: Final[str] = "CIRCUIT_OPEN"
#: Why a send ended without success (``client_gave_up``'s ``reason``).
NOT_RETRYABLE: Final[str] = "not_retryable"
EXHAUSTED: Final[str] = "retries_exhausted"
BUDGET: Final[str] = "retry_budget"

#: Sends one frame to the directory and calls the answer with its outcome.
Submit = Callable[[Frame, Origin, Callable[[RelayOutcome], Any], "str | None"], None]
#: Makes one pair's retry budget, starting at a virtual time.
BudgetMaker = Callable[[float], RetryBudget]
#: Makes one pair's circuit breaker, telling a listener of its transitions.
BreakerMaker = Callable[[TransitionListener], CircuitBreaker]


class ClientSend:
    """One send under way: its frame, origin, client address, how many attempts it made
    and the wait before its last retry (decorrelated jitter reads it)."""

    __slots__ = ("frame", "origin", "ip", "clock_skew", "attempts", "backoff")

    def __init__(self, frame: Frame, origin: Origin, ip: str | None, clock_skew: Callable[[], float]) -> None:
        self.frame = frame
        self.origin = origin
        self.ip = ip
        self.clock_skew = clock_skew
        self.attempts = 0
        self.backoff = 0.0


class ClientRetrier:
    """The retrying client of one route (or of one agent's routes): ``policy`` and
    ``max_retries`` (Brooker's retries after the first attempt), ``timeout`` per attempt,
    and the optional per-pair guards. Counters say what it did."""

    def __init__(self, env: simpy.Environment, events: EventStream, submit: Submit, policy: RetryPolicy,
                 max_retries: int, timeout: float, budget: BudgetMaker | None = None,
                 breaker: BreakerMaker | None = None) -> None:
        self.env = env
        self.events = events
        self.submit = submit
        self.policy = policy
        self.max_retries = max_retries
        self.timeout = timeout
        self._make_budget = budget
        self._make_breaker = breaker
        #: Each pair's retry budget and circuit breaker (None while the guard is off).
        self.budgets: dict[tuple[str, str], RetryBudget] | None = None if budget is None else {}
        self.breakers: dict[tuple[str, str], CircuitBreaker] | None = None if breaker is None else {}
        self.sends = 0
        self.attempts = 0
        self.retries = 0
        self.succeeded = 0
        self.timeouts = 0
        self.gave_up: dict[str, int] = {}
        self.budget_refusals = 0
        self.breaker_rejections = 0
        #: Breaker transitions so far, by the state moved to.
        self.breaker_transitions: dict[str, int] = {}
        self._caller: str | None = None  # the nonce whose call a breaker transition follows

    def send(self, frame: Frame, origin: Origin, ip: str | None = None,
             clock_skew: Callable[[], float] = lambda: 0.0) -> None:
        """Send ``frame`` now and keep retrying it as the policy says; ``clock_skew`` reads
        the sender's skew when a retry leaves (its frame is stamped with the sender's clock)."""
        self.sends += 1
        pair = (frame.sender, frame.recipient)
        if self.budgets is not None:
            self._budget(pair).deposit(self.env.now)
        self._attempt(ClientSend(frame, origin, ip, clock_skew))

    # -- attempts ----------------------------------------------------------------------

    def _attempt(self, send: ClientSend) -> None:
        frame = send.frame
        send.attempts += 1
        self.attempts += 1
        number = send.attempts
        started = self.env.now
        breaker = None
        if self.breakers is not None:
            breaker = self._breaker((frame.sender, frame.recipient))
            self._caller = frame.nonce
            if not breaker.try_acquire(started):
                self.breaker_rejections += 1
                if self.events.active:
                    self.events.emit("client_breaker_rejected", frame.nonce, sender=frame.sender,
                                     recipient=frame.recipient, state=breaker.state)
                self._settled(send, number, RelayOutcome(0, False, CIRCUIT_OPEN, CIRCUIT_OPEN), None, started)
                return
        settled = [False]

        def answered(outcome: RelayOutcome) -> None:
            if not settled[0]:
                settled[0] = True
                self._settled(send, number, outcome, breaker, started)

        def timed_out(_event: simpy.Event) -> None:
            if not settled[0]:
                settled[0] = True
                self.timeouts += 1
                self._settled(send, number, RelayOutcome(0, False, CLIENT_TIMEOUT, CLIENT_TIMEOUT), breaker, started)

        self.submit(frame, send.origin, answered, send.ip)
        if not settled[0]:
            self.env.timeout(self.timeout).callbacks.append(timed_out)

    def _settled(self, send: ClientSend, number: int, outcome: RelayOutcome, breaker: CircuitBreaker | None,
                 started: float) -> None:
        now = self.env.now
        frame = send.frame
        code = outcome.error_code
        if self.events.active:
            self.events.emit("client_attempt", frame.nonce, number=number, success=outcome.success,
                             http_status=outcome.http_status or None, code=code)
        if breaker is not None:
            self._caller = frame.nonce
            breaker.record(now, outcome.success, now - started)
        if outcome.success:
            self.succeeded += 1
            return
        if code not in (CLIENT_TIMEOUT, CIRCUIT_OPEN) and not is_retryable(code, outcome.http_status or None):
            return self._give_up(send, NOT_RETRYABLE, code)
        failures = number
        if self.policy.gives_up(failures, self.max_retries):
            return self._give_up(send, EXHAUSTED, code)
        if self.budgets is not None:
            budget = self._budget((frame.sender, frame.recipient))
            if not budget.try_withdraw(now):
                self.budget_refusals += 1
                if self.events.active:
                    self.events.emit("client_retry_budget_refused", frame.nonce, sender=frame.sender,
                                     recipient=frame.recipient, retry_count=failures, code=code,
                                     balance=budget.balance(now))
                return self._give_up(send, BUDGET, code)
        delay = self.policy.retry_delay(failures, frame.nonce, send.backoff)
        send.backoff = delay
        self.retries += 1
        if self.events.active:
            self.events.emit("client_retry_scheduled", frame.nonce, retry_count=failures, delay=delay,
                             code=code, policy=self.policy.name)
        self.env.timeout(delay).callbacks.append(functools.partial(self._retry, send))

    def _retry(self, send: ClientSend, _event: simpy.Event) -> None:
        send.frame = send.frame._replace(timestamp=self.env.now + send.clock_skew())
        self._attempt(send)

    def _give_up(self, send: ClientSend, reason: str, code: str | None) -> None:
        self.gave_up[reason] = self.gave_up.get(reason, 0) + 1
        if self.events.active:
            self.events.emit("client_gave_up", send.frame.nonce, reason=reason, attempts=send.attempts, code=code)

    # -- retry budget and circuit breaker ----------------------------------------------

    def _budget(self, pair: tuple[str, str]) -> RetryBudget:
        assert self.budgets is not None and self._make_budget is not None
        budget = self.budgets.get(pair)
        if budget is None:
            budget = self.budgets[pair] = self._make_budget(self.env.now)
        return budget

    def _breaker(self, pair: tuple[str, str]) -> CircuitBreaker:
        assert self.breakers is not None and self._make_breaker is not None
        breaker = self.breakers.get(pair)
        if breaker is None:
            breaker = self.breakers[pair] = self._make_breaker(functools.partial(self._breaker_moved, pair))
        return breaker

    def _breaker_moved(self, pair: tuple[str, str], previous: str, to: str, reason: str) -> None:
        self.breaker_transitions[to] = self.breaker_transitions.get(to, 0) + 1
        if self.events.active:
            self.events.emit("client_breaker_transition", self._caller, sender=pair[0], recipient=pair[1],
                             **{"from": previous, "to": to}, reason=reason)
