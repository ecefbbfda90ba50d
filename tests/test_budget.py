"""The retry budget (Finagle's ``RetryBudget``/``TokenRetryBudget`` over a leaky
``TokenBucket``): balances after given sequences of deposits, retries and virtual time.

With the defaults (ttl 10 s, 10 retries a second, 20 %): a deposit is 1000 tokens, a retry
costs ``int(1000 / 0.2)`` = 5000, the reserve is 10 * 10 * 5000 = 500000 (100 retries).
What is put or taken lives in ten one-second slices: it is gone 9 to 10 s later."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.beam.budget import RetryBudget, WindowedAdder


def withdraw(budget: RetryBudget, times: int, now: float) -> list[bool]:
    return [budget.try_withdraw(now) for _ in range(times)]


def test_a_fresh_budget_holds_its_reserve_of_retries_per_second() -> None:
    budget = RetryBudget(0.0)
    assert (budget.deposit_amount, budget.withdrawal_amount, budget.reserve) == (1000, 5000, 500_000)
    assert budget.balance(0.0) == 100
    assert withdraw(budget, 101, 0.0) == [True] * 100 + [False]
    assert budget.balance(0.0) == 0


def test_five_requests_pay_for_one_retry() -> None:
    budget = RetryBudget(0.0, min_retries_per_sec=0)
    for _ in range(4):
        budget.deposit(0.0)
    assert (budget.balance(0.0), budget.try_withdraw(0.0)) == (0, False)
    budget.deposit(0.0)
    assert (budget.balance(0.0), budget.try_withdraw(0.0), budget.balance(0.0)) == (1, True, 0)


def test_a_refused_retry_leaves_the_balance_untouched() -> None:
    budget = RetryBudget(0.0, min_retries_per_sec=0)
    for _ in range(9):
        budget.deposit(0.0)
    assert withdraw(budget, 3, 0.0) == [True, False, False]
    assert budget.tokens.sum(0.0) == 9000 - 5000


def test_withdrawals_expire_between_nine_and_ten_seconds_later() -> None:
    budget = RetryBudget(0.0)
    withdraw(budget, 100, 0.0)
    # Read once a second: the slice holding the debits closes at 1 s and is overwritten at 10 s.
    assert [budget.balance(float(t)) for t in range(11)] == [0] * 10 + [100]


def test_an_idle_budget_zeroes_the_slices_it_skipped() -> None:
    at_nine, at_ten = RetryBudget(0.0), RetryBudget(0.0)
    withdraw(at_nine, 100, 0.0)
    withdraw(at_ten, 100, 0.0)
    # First read 9 s later: 8 slices skipped, the debits' slice survives; 10 s later it is gone.
    assert (at_nine.balance(9.0), at_ten.balance(10.0)) == (0, 100)


def test_deposits_expire_too() -> None:
    budget = RetryBudget(0.0, min_retries_per_sec=0)
    for _ in range(10):
        budget.deposit(0.0)
    assert [budget.balance(t) for t in (0.0, 5.0, 10.0)] == [2, 2, 0]


def test_a_retry_paid_from_deposits_that_expire_first_leaves_a_debt() -> None:
    budget = RetryBudget(0.0, min_retries_per_sec=0, percent_can_retry=1.0)
    budget.deposit(0.0)
    assert budget.try_withdraw(5.0)
    # The deposit (slice of 0 s) expires at 10 s; the withdrawal (slice of 5 s) at 15 s.
    assert [budget.balance(t) for t in (9.0, 10.0, 15.0)] == [0, -1, 0]
    assert not budget.try_withdraw(10.0)


def test_without_a_percentage_only_the_floor_allows_retries() -> None:
    budget = RetryBudget(0.0, min_retries_per_sec=2, percent_can_retry=0.0)
    assert (budget.deposit_amount, budget.withdrawal_amount, budget.reserve) == (0, 1, 20)
    budget.deposit(0.0)
    assert withdraw(budget, 21, 0.0) == [True] * 20 + [False]


def test_no_floor_and_no_percentage_never_allows_a_retry() -> None:
    budget = RetryBudget(0.0, min_retries_per_sec=0, percent_can_retry=0.0)
    budget.deposit(0.0)
    assert (budget.balance(0.0), budget.try_withdraw(0.0)) == (0, False)


def test_a_percentage_above_one_allows_several_retries_per_request() -> None:
    budget = RetryBudget(0.0, ttl=5.0, min_retries_per_sec=0, percent_can_retry=2.0)
    assert budget.withdrawal_amount == 500
    budget.deposit(0.0)
    assert withdraw(budget, 3, 0.0) == [True, True, False]


def test_the_cost_of_a_retry_is_truncated_as_in_finagle() -> None:
    # int(1000 / 0.3) = 3333; the reserve uses whole seconds of the ttl: 1 * 2 * 3333.
    budget = RetryBudget(0.0, ttl=2.5, min_retries_per_sec=1, percent_can_retry=0.3)
    assert (budget.withdrawal_amount, budget.reserve) == (3333, 6666)


@pytest.mark.parametrize(("knobs", "message"), [
    ({"ttl": 0.5}, "ttl must be within [1 s, 60 s], not 0.5"),
    ({"ttl": 61.0}, "ttl must be within [1 s, 60 s], not 61.0"),
    ({"min_retries_per_sec": -1}, "min_retries_per_sec must not be negative, not -1"),
    ({"percent_can_retry": 1001.0}, "percent_can_retry must be within [0, 1000], not 1001.0"),
])
def test_settings_out_of_finaglees_ranges_are_refused(knobs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        RetryBudget(0.0, **knobs)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_a_slice_advances_once_per_access_so_sparse_use_keeps_a_deposit_up_to_twice_the_span() -> None:
    every_second, sparse = WindowedAdder(10.0, 10, 0.0), WindowedAdder(10.0, 10, 0.0)
    every_second.add(1, 0.0)
    sparse.add(1, 0.0)
    assert [every_second.sum(float(t)) for t in range(1, 11)] == [1] * 9 + [0]
    assert [sparse.sum(round(1.999 * k, 3)) for k in range(1, 11)] == [1] * 9 + [0]  # gone at 19.99 s


def test_the_windowed_adder_needs_two_slices() -> None:
    with pytest.raises(ValueError, match="at least two slices"):
        WindowedAdder(10.0, 1, 0.0)


STEPS = st.lists(st.tuples(st.sampled_from(["deposit", "retry"]), st.floats(0.0, 3.0)), max_size=200)


@given(steps=STEPS, percent=st.sampled_from([0.0, 0.1, 0.2, 1.0, 2.0]), floor=st.integers(0, 5))
def test_retries_allowed_in_any_ttl_never_exceed_the_floor_plus_the_percentage(
        steps: list[tuple[str, float]], percent: float, floor: int) -> None:
    budget = RetryBudget(0.0, min_retries_per_sec=floor, percent_can_retry=percent)
    now = 0.0
    requests: list[float] = []
    retries: list[float] = []
    for action, gap in steps:
        now += gap
        if action == "deposit":
            budget.deposit(now)
            requests.append(now)
        else:
            balance = budget.balance(now)
            allowed = budget.try_withdraw(now)
            assert allowed == (balance >= 1)
            if allowed:
                retries.append(now)
    # Whatever is taken was there: a debit lives at least 9 s, so the retries paid for within
    # 8 s are at most the floor's 10 s worth plus the percentage of the requests that could
    # still count. A deposit leaves after ten slice advances; the adder advances one slice
    # per access up to two slice-widths apart, so a deposit lives under 20 s (not 10: with
    # sparse accesses a deposit at 0 still counts at 10.0, a case Hypothesis found).
    for start in retries:
        window_retries = sum(1 for t in retries if start <= t < start + 8.0)
        window_requests = sum(1 for t in requests if start - 20.0 < t < start + 8.0)
        assert window_retries <= floor * 10 + percent * window_requests + 1e-9


def test_time_is_counted_in_whole_milliseconds_as_finagle_does() -> None:
    # ttl 1 s: ten slices of 100 ms. A debit at 0 is gone at exactly 1.0 s (float 1.0 // 0.1
    # would be 9 slices and keep it); 0.9994 s rounds to 999 ms and keeps it.
    early, on_time = (RetryBudget(0.0, ttl=1.0, min_retries_per_sec=1, percent_can_retry=0.0) for _ in range(2))
    assert withdraw(early, 2, 0.0) == withdraw(on_time, 2, 0.0) == [True, False]
    assert (early.balance(0.9994), on_time.balance(1.0)) == (0, 1)
    # A read closes the slice then: the next closes 100 ms after 999 ms, not at 1000 ms.
    assert (early.balance(1.0), early.balance(1.099)) == (0, 1)
