"""The circuit breaker (resilience4j's ``CircuitBreakerStateMachine``, count-based window):
state transitions for given sequences of call outcomes and virtual times.

Defaults are resilience4j's: window 100, minimum 100 calls, 50 % failure rate, 100 % slow
calls over 60 s, 60 s open, 10 calls half-open."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from simulator.beam.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker

Moves = list[tuple[str, str, str]]


def breaker(**config: float) -> tuple[CircuitBreaker, Moves]:
    moves: Moves = []
    return CircuitBreaker(on_transition=lambda *move: moves.append(move), **config), moves  # type: ignore[arg-type]


def calls(breaker: CircuitBreaker, outcomes: str, now: float = 0.0, duration: float = 0.1) -> None:
    """One permitted call per letter: ``s`` succeeded, ``f`` failed."""
    for outcome in outcomes:
        assert breaker.try_acquire(now)
        breaker.record(now, outcome == "s", duration)


def test_below_the_minimum_number_of_calls_nothing_opens() -> None:
    cb, moves = breaker()
    calls(cb, "f" * 99)
    assert (cb.state, moves) == (CLOSED, [])
    calls(cb, "f", now=5.0)
    assert (cb.state, cb.opened_at, moves) == (OPEN, 5.0, [(CLOSED, OPEN, "failure_rate")])


def test_a_failure_rate_at_the_threshold_opens_and_below_it_does_not() -> None:
    below, _ = breaker()
    calls(below, "s" * 51 + "f" * 49)
    assert below.state == CLOSED
    # The window slides: the 101st call (a failure) pushes out the oldest success: 50 of 100.
    calls(below, "f")
    assert below.state == OPEN
    at, moves = breaker()
    calls(at, "f" * 50 + "s" * 50)
    assert (at.state, moves) == (OPEN, [(CLOSED, OPEN, "failure_rate")])


def test_an_open_breaker_refuses_until_strictly_after_its_wait_then_goes_half_open_on_a_call() -> None:
    cb, moves = breaker(sliding_window_size=2, minimum_number_of_calls=2)
    calls(cb, "ff", now=10.0)
    assert [cb.try_acquire(t) for t in (10.0, 40.0, 70.0)] == [False, False, False]
    assert (cb.state, cb.not_permitted) == (OPEN, 3)
    assert cb.try_acquire(70.5)
    assert (cb.state, moves[-1]) == (HALF_OPEN, (OPEN, HALF_OPEN, "wait_elapsed"))
    # 10 calls are permitted half-open, the 70.5 one included; the 11th is refused.
    assert [cb.try_acquire(71.0) for _ in range(10)] == [True] * 9 + [False]


def test_half_open_successes_close_it_with_a_fresh_window() -> None:
    cb, moves = breaker(sliding_window_size=4, minimum_number_of_calls=4, permitted_number_of_calls_in_half_open_state=3)
    calls(cb, "ffff")
    assert cb.try_acquire(61.0)
    cb.record(61.0, True, 0.1)
    calls(cb, "s", now=62.0)
    assert cb.state == HALF_OPEN  # two of three outcomes in
    calls(cb, "s", now=63.0)
    assert (cb.state, moves[-1], cb.window.calls, cb.window.size) == (CLOSED, (HALF_OPEN, CLOSED, "below_thresholds"),
                                                                     0, 4)
    calls(cb, "fff", now=64.0)
    assert cb.state == CLOSED  # three calls in a fresh window: below the minimum of 4


def test_half_open_failures_at_the_threshold_open_it_again() -> None:
    # CLOSED decides after min(4, 2) calls, HALF_OPEN after min(4, 4).
    cb, moves = breaker(sliding_window_size=2, minimum_number_of_calls=4, permitted_number_of_calls_in_half_open_state=4)
    calls(cb, "ff")
    assert cb.try_acquire(60.5)
    cb.record(60.5, False, 0.1)
    calls(cb, "ssf", now=61.0)  # 2 failures of 4: 50 %
    assert [move[1] for move in moves] == [OPEN, HALF_OPEN, OPEN]
    assert (cb.state, cb.opened_at) == (OPEN, 61.0)
    assert not cb.try_acquire(121.0) and cb.try_acquire(121.5)


def test_half_open_decides_once_the_lesser_of_the_minimum_and_the_permits_are_in() -> None:
    cb, moves = breaker(sliding_window_size=10, minimum_number_of_calls=2, permitted_number_of_calls_in_half_open_state=5)
    calls(cb, "ff")
    assert cb.state == OPEN  # min(2, 10) calls are enough
    assert cb.try_acquire(61.0)
    cb.record(61.0, True, 0.1)
    calls(cb, "s", now=61.0)
    assert cb.state == CLOSED


def test_slow_calls_open_it_even_when_they_succeed() -> None:
    cb, moves = breaker(sliding_window_size=4, minimum_number_of_calls=4, slow_call_rate_threshold=50,
                        slow_call_duration_threshold=1.0)
    calls(cb, "ss", duration=1.0)  # exactly the threshold: not slow
    calls(cb, "s", duration=1.5)
    assert cb.state == CLOSED
    calls(cb, "s", duration=2.0)  # 4 calls, 2 slow: 50 %
    assert moves == [(CLOSED, OPEN, "slow_call_rate")]


def test_slow_failures_count_for_both_rates() -> None:
    cb, moves = breaker(sliding_window_size=2, minimum_number_of_calls=2, slow_call_rate_threshold=50,
                        slow_call_duration_threshold=1.0)
    calls(cb, "ff", duration=5.0)
    assert moves == [(CLOSED, OPEN, "failure_and_slow_call_rate")]


def test_outcomes_of_calls_that_end_while_open_are_ignored() -> None:
    cb, moves = breaker(sliding_window_size=2, minimum_number_of_calls=2)
    assert cb.try_acquire(0.0) and cb.try_acquire(0.0) and cb.try_acquire(0.0)
    cb.record(1.0, False, 1.0)
    cb.record(1.0, False, 1.0)
    cb.record(2.0, True, 2.0)  # the third call ends after the breaker opened
    assert (cb.state, len(moves), cb.window.calls) == (OPEN, 1, 2)


def test_the_minimum_number_of_calls_is_at_most_the_window() -> None:
    cb, _ = breaker(sliding_window_size=3, minimum_number_of_calls=100)
    calls(cb, "fff")
    assert cb.state == OPEN


@given(outcomes=st.lists(st.tuples(st.booleans(), st.floats(0.0, 120.0), st.floats(0.0, 5.0)), max_size=300))
def test_states_only_move_along_the_state_machine(outcomes: list[tuple[bool, float, float]]) -> None:
    cb, moves = breaker(sliding_window_size=5, minimum_number_of_calls=3, permitted_number_of_calls_in_half_open_state=2,
                        wait_duration_in_open_state=10.0, slow_call_duration_threshold=100.0)
    now = 0.0
    for success, duration, gap in outcomes:
        now += gap
        if cb.try_acquire(now):
            assert cb.state in (CLOSED, HALF_OPEN)
            cb.record(now, success, duration)
        else:
            assert cb.state in (OPEN, HALF_OPEN)
    allowed = {(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN), (HALF_OPEN, CLOSED)}
    assert all((before, after) in allowed for before, after, _ in moves)
    assert all(before == after_previous for (before, _, _), (_, after_previous, _) in zip(moves[1:], moves))
