"""Bus retry presets (Brooker's "Exponential Backoff And Jitter", the formulas of
``aws-samples/aws-arch-backoff-simulator``): delay sequences for given draws, caps, the
give-up rule, longest spans and the bounds the drill probe checks against.

Draws come from :class:`Draws`, a stub random source answering given numbers in [0, 1);
``uniform(a, b)`` is ``a + (b - a) * u``, Python's own formula."""

from __future__ import annotations

import random
from typing import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.beam.backoff import PRESETS, DecorrelatedJitter, EqualJitter, ExponentialBackoff, FullJitter
from simulator.beam.retry import RETRY_POLICIES, BeamBackoff, follows_schedule, retry_policy


class Draws:
    """A random source that answers the given draws in order."""

    def __init__(self, draws: Iterable[float]) -> None:
        self.draws = iter(draws)

    def random(self) -> float:
        return next(self.draws)


def delays(name: str, draws: Iterable[float], count: int, **knobs: float) -> list[float]:
    """The waits before retries 1..count, each retry's ``previous`` the wait before it."""
    policy = retry_policy(name, Draws(draws), **knobs)
    waits: list[float] = []
    previous = 0.0
    for n in range(1, count + 1):
        previous = policy.retry_delay(n, "nonce", previous)
        waits.append(previous)
    return waits


def test_every_preset_is_selectable_by_name() -> None:
    assert list(RETRY_POLICIES) == ["beam", "none", "fixed", "exponential", "full_jitter", "equal_jitter",
                                    "decorrelated_jitter"]
    assert [retry_policy(name).name for name in RETRY_POLICIES] == list(RETRY_POLICIES)


def test_fixed_waits_base_every_time() -> None:
    assert delays("fixed", [], 4, base=7, cap=100) == [7, 7, 7, 7]


def test_exponential_grows_from_base_times_multiplier_and_stops_at_the_cap() -> None:
    # expo(n) = min(cap, base * 2**n): 2, 4, 8, 16, 32, then the cap of 50.
    assert delays("exponential", [], 7, base=1, cap=50) == [2, 4, 8, 16, 32, 50, 50]
    # multiplier 3: 1.5*3 = 4.5, 13.5, 40.5, cap 100.
    assert delays("exponential", [], 4, base=1.5, cap=100, multiplier=3) == [4.5, 13.5, 40.5, 100]


def test_full_jitter_scales_each_draw_by_the_capped_exponential() -> None:
    # uniform(0, v) = v * u for v = 2, 4, 8, 10 (capped).
    assert delays("full_jitter", [0.5, 0.25, 0.0, 0.9], 4, base=1, cap=10) == [1.0, 1.0, 0.0, 9.0]


def test_equal_jitter_keeps_half_and_draws_the_other_half() -> None:
    # v/2 + uniform(0, v/2) for v = 2, 4, 8, 10: 1 + 0.5, 2 + 0, 4 + 3, 5 + 4.5.
    assert delays("equal_jitter", [0.5, 0.0, 0.75, 0.9], 4, base=1, cap=10) == [1.5, 2.0, 7.0, 9.5]


def test_decorrelated_jitter_grows_from_the_previous_sleep() -> None:
    # sleep = min(cap, uniform(base, sleep*3)), sleep starting at base = 2:
    # uniform(2, 6) at 0.5 = 4; uniform(2, 12) at 0.5 = 7; uniform(2, 21) at 1 - 2**-53 ~ 21 → cap 20;
    # uniform(2, 60) at 0 = 2.
    assert delays("decorrelated_jitter", [0.5, 0.5, 0.9999999999999999, 0.0], 4, base=2, cap=20) == [4.0, 7.0, 20,
                                                                                                       2.0]


def test_decorrelated_jitter_starts_again_from_base_at_retry_1() -> None:
    policy = DecorrelatedJitter(Draws([0.5]), base=2, cap=100)
    # A requeued row's retry 1 ignores the long wait it had before: uniform(2, 6) at 0.5.
    assert policy.retry_delay(1, "nonce", 50.0) == 4.0


def test_the_multiplier_applies_to_decorrelated_jitter_too() -> None:
    # uniform(1, 1*5) at 0.75 = 4; then uniform(1, 4*5) at 0.5 = 10.5.
    assert delays("decorrelated_jitter", [0.75, 0.5], 2, base=1, cap=100, multiplier=5) == [4.0, 10.5]


def test_none_gives_up_at_the_first_failure_and_beam_never_does() -> None:
    none = retry_policy("none")
    assert [none.gives_up(n, 5) for n in (1, 2)] == [True, True]
    beam = BeamBackoff()
    # Beam's sendMessage always schedules retry 1; the worker gives up at newCount ≥ max_retries.
    assert [beam.gives_up(n, 1) for n in (1, 2)] == [False, True]
    assert [beam.gives_up(n, 5) for n in (1, 4, 5)] == [False, False, True]


@pytest.mark.parametrize("name", ["fixed", "exponential", "full_jitter", "equal_jitter", "decorrelated_jitter"])
def test_presets_give_up_after_max_retries_retries(name: str) -> None:
    policy = retry_policy(name, random.Random(1))
    # max_retries 3: failures 1..3 are retried, the 4th failure (the 4th attempt) is final.
    assert [policy.gives_up(n, 3) for n in range(1, 5)] == [False, False, False, True]
    assert policy.gives_up(1, 0)


def test_a_jittered_preset_without_a_random_source_says_so() -> None:
    with pytest.raises(ValueError, match="the full_jitter retry preset needs a random source"):
        retry_policy("full_jitter").retry_delay(1, "nonce", 0.0)


def test_longest_spans_count_every_wait_at_its_largest() -> None:
    # Waits before retries 1..3 at most min(60, 10*2**n) = 20, 40, 60 (120 s), then 4 attempts
    # each with a worker tick (30 s) and the attempt timeout (30 s): 120 + 4*60 = 360.
    for name in ("exponential", "full_jitter", "equal_jitter"):
        assert retry_policy(name, base=10, cap=60).longest_span(3, 30, 30) == 360
    # decorrelated: at most min(60, 10*3**n) = 30, 60, 60 → 150 + 240.
    assert retry_policy("decorrelated_jitter", base=10, cap=60).longest_span(3, 30, 30) == 390
    assert retry_policy("fixed", base=10, cap=60).longest_span(3, 30, 30) == 30 + 240
    assert retry_policy("none").longest_span(3, 30, 30) == 60
    # Beam's own: ceil(1.15 * (30, 60, 120, 240)) = 35+69+138+276 = 518, plus 5 * 60.
    assert retry_policy("beam").longest_span(5, 30, 30) == 818


def test_a_huge_exponent_is_the_cap() -> None:
    assert ExponentialBackoff(base=1, cap=9, multiplier=100).retry_delay(10_000, "n", 0.0) == 9


def test_bounds_of_a_schedule() -> None:
    beam = BeamBackoff()
    assert follows_schedule(beam, "retry-nonce-1", [(1, 28), (2, 57), (3, 115)])
    assert not follows_schedule(beam, "retry-nonce-1", [(1, 28), (2, 58)])
    decorrelated = DecorrelatedJitter(base=1, cap=100)
    # retry 2 may wait at most 3 * 2.5 after a wait of 2.5; a requeue (retry 1) starts from base.
    assert follows_schedule(decorrelated, "n", [(1, 2.5), (2, 7.5), (1, 3.0)])
    assert not follows_schedule(decorrelated, "n", [(1, 2.5), (2, 7.6)])
    assert not follows_schedule(FullJitter(base=1, cap=100), "n", [(1, 2.1)])
    assert EqualJitter(base=1, cap=100).delay_bounds(2, "n", 0.0) == (2.0, 4.0)


UNIT = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
BASES = st.floats(min_value=0.001, max_value=1000.0)


@given(name=st.sampled_from(sorted(set(PRESETS) - {"none"})), base=BASES, spread=st.floats(1.0, 100.0),
       multiplier=st.floats(1.0, 10.0), draws=st.lists(UNIT, min_size=1, max_size=30))
def test_every_delay_lies_within_its_bounds_and_zero_to_cap(name: str, base: float, spread: float,
                                                            multiplier: float, draws: list[float]) -> None:
    cap = base * spread
    policy = retry_policy(name, Draws(draws), base=base, cap=cap, multiplier=multiplier)
    previous = 0.0
    for n in range(1, len(draws) + 1):
        low, high = policy.delay_bounds(n, "nonce", previous)
        delay = policy.retry_delay(n, "nonce", previous)
        assert 0.0 <= low <= delay <= high <= cap
        if name == "decorrelated_jitter":
            assert base <= delay
        previous = delay


@given(base=BASES, spread=st.floats(1.0, 100.0), multiplier=st.floats(1.0, 10.0),
       draws=st.lists(UNIT, min_size=1, max_size=30))
def test_decorrelated_waits_stay_within_base_and_cap_and_grow_at_most_by_the_multiplier(
        base: float, spread: float, multiplier: float, draws: list[float]) -> None:
    cap = base * spread
    waits = delays("decorrelated_jitter", draws, len(draws), base=base, cap=cap, multiplier=multiplier)
    assert all(base <= wait <= cap for wait in waits)
    assert all(later <= max(earlier, base) * multiplier for earlier, later in zip(waits, waits[1:]))


@given(name=st.sampled_from(sorted(PRESETS)), base=BASES, spread=st.floats(1.0, 100.0),
       retries=st.integers(0, 20), seed=st.integers(0, 2**32))
def test_no_schedule_outlasts_the_longest_span(name: str, base: float, spread: float, retries: int,
                                               seed: int) -> None:
    policy = retry_policy(name, random.Random(seed), base=base, cap=base * spread)
    total, previous = 0.0, 0.0
    for n in range(1, retries + 1):
        previous = policy.retry_delay(n, "nonce", previous)
        total += previous
    assert total <= policy.longest_span(retries, 0.0, 0.0)
