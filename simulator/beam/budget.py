"""A retry budget on virtual time, in the shape of Finagle's ``RetryBudget``.

Finagle's ``RetryBudget.apply(ttl, minRetriesPerSec, percentCanRetry)``
(``finagle-core/.../service/RetryBudget.scala``, ``TokenRetryBudget``) keeps a leaky token
bucket (``TokenBucket.newLeakyBucket``): a ``WindowedAdder`` summing the last ``ttl`` in
ten slices, plus a constant reserve. Scaled to whole tokens:

- a deposit (one per request) puts ``1000`` tokens (none when ``percentCanRetry`` is 0);
- a retry costs ``int(1000 / percentCanRetry)`` tokens (1 when it is 0), and is allowed
  only when the bucket holds at least that many, which it then takes;
- the reserve is ``minRetriesPerSec * ttl_seconds * cost``: about ``minRetriesPerSec``
  retries a second whatever the traffic;
- what was put or taken expires after ten slice advances, so the reserve refills: after
  between nine and ten tenths of ``ttl`` when the budget is used at least once a slice,
  and up to twice ``ttl`` when it is used rarely (an access advances one slice when it
  comes under two slice-widths after the last, as Finagle's ``WindowedAdder`` does).

The defaults are Finagle's: ``ttl`` 10 s, 10 retries a second, 20 %. The class is pure and
reads no clock: every call passes the virtual time ``now``, never earlier than the last.
One budget guards one sender→recipient pair of the bus; a client-side retrier can keep
one per route the same way (deposit per request, :meth:`try_withdraw` per retry).
"""

from __future__ import annotations

from typing import Final

#: Finagle's ``TokenRetryBudget.ScaleFactor``: lets ``percent_can_retry`` exceed 1 in whole tokens.
SCALE: Final[int] = 1000
#: Finagle's ``WindowedAdder`` slices over the ``ttl``.
SLICES: Final[int] = 10


def millis(seconds: float) -> int:
    """Virtual seconds on Finagle's clock: whole milliseconds (rounded, so 1.0 s is 1000)."""
    return round(seconds * 1000)


class WindowedAdder:
    """Finagle's ``WindowedAdder`` on a millisecond clock: a sum over about the last
    ``span`` seconds, kept as ``slices - 1`` past slices and the one being written. A slice
    closes when written or read a slice-width after the last close; slices skipped while
    idle are zeroed. Times are whole milliseconds, as Finagle's ``Long`` arithmetic is."""

    __slots__ = ("window", "past", "slot", "current", "opened")

    def __init__(self, span: float, slices: int, now: float) -> None:
        if slices < 2:
            raise ValueError("a windowed adder needs at least two slices")
        self.window = millis(span) // slices
        self.past = [0] * (slices - 1)
        self.slot = 0
        self.current = 0
        self.opened = millis(now)

    def _expire(self, now: float) -> None:
        at = millis(now)
        if at - self.opened < self.window:
            return
        past = self.past
        n = len(past)
        past[self.slot] = self.current
        self.current = 0
        self.slot = (self.slot + 1) % n
        skipped = min((at - self.opened) // self.window - 1, n)
        for _ in range(max(0, skipped)):
            past[self.slot] = 0
            self.slot = (self.slot + 1) % n
        self.opened = at

    def add(self, amount: int, now: float) -> None:
        """Add ``amount`` (negative to take) at ``now``."""
        self._expire(now)
        self.current += amount

    def sum(self, now: float) -> int:
        """Return the sum over the live slices at ``now``."""
        self._expire(now)
        return self.current + sum(self.past)


class RetryBudget:
    """Finagle's ``TokenRetryBudget``: :meth:`deposit` per request, :meth:`try_withdraw` per
    retry (True: the retry may go ahead, and is paid for; False: the request fails with
    the error it has), :meth:`balance` retries allowed now."""

    __slots__ = ("deposit_amount", "withdrawal_amount", "reserve", "tokens")

    def __init__(self, now: float, ttl: float = 10.0, min_retries_per_sec: int = 10,
                 percent_can_retry: float = 0.2) -> None:
        if not 1 <= ttl <= 60:
            raise ValueError(f"ttl must be within [1 s, 60 s], not {ttl}")
        if min_retries_per_sec < 0:
            raise ValueError(f"min_retries_per_sec must not be negative, not {min_retries_per_sec}")
        if not 0 <= percent_can_retry <= SCALE:
            raise ValueError(f"percent_can_retry must be within [0, {SCALE}], not {percent_can_retry}")
        self.deposit_amount = 0 if percent_can_retry == 0 else SCALE
        self.withdrawal_amount = 1 if percent_can_retry == 0 else int(SCALE / percent_can_retry)
        self.reserve = min_retries_per_sec * int(ttl) * self.withdrawal_amount
        self.tokens = WindowedAdder(ttl, SLICES, now)

    def deposit(self, now: float) -> None:
        """Credit one request at ``now``."""
        self.tokens.add(self.deposit_amount, now)

    def try_withdraw(self, now: float) -> bool:
        """Pay for one retry at ``now`` if the balance allows it; return whether it did."""
        if self.tokens.sum(now) + self.reserve >= self.withdrawal_amount:
            self.tokens.add(-self.withdrawal_amount, now)
            return True
        return False

    def balance(self, now: float) -> int:
        """The number of retries that could be paid for at ``now`` (truncated toward zero
        as Finagle's ``Long`` division is: negative while expired deposits leave debits)."""
        count = self.tokens.sum(now) + self.reserve
        whole = abs(count) // self.withdrawal_amount
        return whole if count >= 0 else -whole
