"""A circuit breaker on virtual time, in the shape of resilience4j's
``CircuitBreakerStateMachine`` with a ``COUNT_BASED`` sliding window.

Semantics follow resilience4j (``circuitbreaker/internal/CircuitBreakerStateMachine.java``
and ``CircuitBreakerMetrics.java``), defaults its ``CircuitBreakerConfig.ofDefaults()``:

- CLOSED permits every call and records each outcome in a window of the last
  ``sliding_window_size`` (100) calls. Once the window holds at least
  ``min(minimum_number_of_calls, sliding_window_size)`` (100) calls, a failure rate
  ``≥ failure_rate_threshold`` (50 %) or a slow-call rate ``≥ slow_call_rate_threshold``
  (100 %) opens the breaker. A call is slow when it took longer than
  ``slow_call_duration_threshold`` (60 s); a slow call may also be a failure.
- OPEN refuses every call until ``wait_duration_in_open_state`` (60 s) has passed; the
  first call after that (strictly after, as ``Instant.isAfter``) moves it to HALF_OPEN
  and is permitted there (no automatic transition: it happens on the next call).
  Outcomes of calls started before it opened are ignored.
- HALF_OPEN permits ``permitted_number_of_calls_in_half_open_state`` (10) calls and
  refuses the rest; once ``min(minimum_number_of_calls, permitted)`` of their outcomes
  are in, it opens again if a rate is over its threshold, else it closes with a fresh
  window.

The class is pure and reads no clock: the caller passes ``now`` (virtual seconds) and the
call's duration. It calls ``on_transition(from, to, reason)`` on each change of state, so
a bus worker or a client-side retrier can turn transitions into events.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Final

CLOSED: Final[str] = "CLOSED"
OPEN: Final[str] = "OPEN"
HALF_OPEN: Final[str] = "HALF_OPEN"
#: Every state, in the order the metrics list them.
STATES: Final[tuple[str, ...]] = (CLOSED, OPEN, HALF_OPEN)

#: Why a transition happened.
FAILURE_RATE: Final[str] = "failure_rate"
SLOW_CALL_RATE: Final[str] = "slow_call_rate"
BOTH_RATES: Final[str] = "failure_and_slow_call_rate"
WAIT_ELAPSED: Final[str] = "wait_elapsed"
BELOW_THRESHOLDS: Final[str] = "below_thresholds"

#: Told ``(from state, to state, reason)`` on every transition.
TransitionListener = Callable[[str, str, str], None]

_FAILED: Final[int] = 1
_SLOW: Final[int] = 2


class CallWindow:
    """resilience4j's ``FixedSizeSlidingWindowMetrics``: the outcomes of the last ``size``
    calls, with running counts of failed and slow ones."""

    __slots__ = ("size", "outcomes", "failed", "slow")

    def __init__(self, size: int) -> None:
        self.size = size
        self.outcomes: deque[int] = deque()
        self.failed = 0
        self.slow = 0

    def record(self, failed: bool, slow: bool) -> None:
        """Add one call's outcome, dropping the oldest beyond ``size``."""
        outcome = (_FAILED if failed else 0) | (_SLOW if slow else 0)
        self.outcomes.append(outcome)
        self.failed += failed
        self.slow += slow
        if len(self.outcomes) > self.size:
            oldest = self.outcomes.popleft()
            self.failed -= oldest & _FAILED
            self.slow -= (oldest & _SLOW) >> 1

    @property
    def calls(self) -> int:
        """How many calls the window holds."""
        return len(self.outcomes)

    def failure_rate(self) -> float:
        """Failed calls in percent of the calls held."""
        return self.failed * 100.0 / self.calls

    def slow_call_rate(self) -> float:
        """Slow calls in percent of the calls held."""
        return self.slow * 100.0 / self.calls


class CircuitBreaker:
    """One breaker: :meth:`try_acquire` before a call (False: fail fast without calling),
    :meth:`record` after a permitted call with its outcome and duration."""

    __slots__ = ("failure_rate_threshold", "slow_call_rate_threshold", "slow_call_duration_threshold",
                 "sliding_window_size", "minimum_number_of_calls", "wait_duration_in_open_state",
                 "permitted_in_half_open", "on_transition", "state", "window", "opened_at", "permits",
                 "not_permitted")

    def __init__(self, failure_rate_threshold: float = 50.0, slow_call_rate_threshold: float = 100.0,
                 slow_call_duration_threshold: float = 60.0, sliding_window_size: int = 100,
                 minimum_number_of_calls: int = 100, wait_duration_in_open_state: float = 60.0,
                 permitted_number_of_calls_in_half_open_state: int = 10,
                 on_transition: TransitionListener | None = None) -> None:
        self.failure_rate_threshold = failure_rate_threshold
        self.slow_call_rate_threshold = slow_call_rate_threshold
        self.slow_call_duration_threshold = slow_call_duration_threshold
        self.sliding_window_size = sliding_window_size
        self.minimum_number_of_calls = minimum_number_of_calls
        self.wait_duration_in_open_state = wait_duration_in_open_state
        self.permitted_in_half_open = permitted_number_of_calls_in_half_open_state
        self.on_transition = on_transition
        self.state = CLOSED
        self.window = CallWindow(sliding_window_size)
        self.opened_at = 0.0
        self.permits = 0
        #: Calls refused so far (resilience4j's ``numberOfNotPermittedCalls``).
        self.not_permitted = 0

    def _move(self, to: str, reason: str, now: float) -> None:
        previous = self.state
        self.state = to
        if to == OPEN:
            self.opened_at = now
        elif to == HALF_OPEN:
            self.window = CallWindow(self.permitted_in_half_open)
            self.permits = self.permitted_in_half_open
        else:
            self.window = CallWindow(self.sliding_window_size)
        if self.on_transition is not None:
            self.on_transition(previous, to, reason)

    def try_acquire(self, now: float) -> bool:
        """Return whether a call may go ahead at ``now`` (an OPEN breaker whose wait is over
        moves to HALF_OPEN first)."""
        state = self.state
        if state == CLOSED:
            return True
        if state == OPEN:
            if now - self.opened_at <= self.wait_duration_in_open_state:
                self.not_permitted += 1
                return False
            self._move(HALF_OPEN, WAIT_ELAPSED, now)
        if self.permits > 0:
            self.permits -= 1
            return True
        self.not_permitted += 1
        return False

    def record(self, now: float, success: bool, duration: float) -> None:
        """Record the outcome of a permitted call that took ``duration`` seconds."""
        state = self.state
        if state == OPEN:
            return
        window = self.window
        window.record(not success, duration > self.slow_call_duration_threshold)
        least = min(self.minimum_number_of_calls, window.size)
        if window.calls < least:
            return
        failing = window.failure_rate() >= self.failure_rate_threshold
        slow = window.slow_call_rate() >= self.slow_call_rate_threshold
        if failing or slow:
            self._move(OPEN, BOTH_RATES if failing and slow else FAILURE_RATE if failing else SLOW_CALL_RATE, now)
        elif state == HALF_OPEN:
            self._move(CLOSED, BELOW_THRESHOLDS, now)
