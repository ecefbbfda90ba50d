"""Retry presets on virtual time: no retry, fixed, exponential, and the three jittered
backoffs of Marc Brooker's "Exponential Backoff And Jitter" (AWS Architecture Blog).

The formulas are the reference simulator's (``aws-samples/aws-arch-backoff-simulator``,
``src/backoff_simulator.py``), where retry ``n`` (1 for the first retry) waits:

- exponential: ``expo(n) = min(cap, base * multiplier**n)`` (``multiplier`` 2 there);
- full jitter: ``uniform(0, expo(n))``;
- equal jitter: ``expo(n)/2 + uniform(0, expo(n)/2)``;
- decorrelated jitter: ``sleep = min(cap, uniform(base, sleep * multiplier))``, the sleep
  starting at ``base`` (``multiplier`` 3 there);

and ``fixed`` waits ``base`` every time. ``uniform(a, b)`` is Python's own
``a + (b - a) * random()``, drawn from the :class:`RandomSource` the policy is given (the
world's ``retry:bus`` stream), so a run replays byte for byte and no other stream moves.

Every preset counts ``max_retries`` as Brooker does: retries after the first attempt, so
``max_retries + 1`` attempts in all before a dead letter (``none``: one attempt).
"""

from __future__ import annotations

from typing import Callable, Final, Protocol


class RandomSource(Protocol):
    """Where jittered presets draw from: anything with ``random()`` in [0, 1), as
    :class:`random.Random` (tests pass a stub that answers given draws)."""

    def random(self) -> float:
        """Return the next draw in [0, 1)."""
        ...


def uniform(source: RandomSource, low: float, high: float) -> float:
    """Return a draw in [low, high] exactly as :meth:`random.Random.uniform` computes it."""
    return low + (high - low) * source.random()


def expo(base: float, cap: float, multiplier: float, n: int) -> float:
    """Return the capped exponential ``min(cap, base * multiplier**n)``."""
    try:
        grown = base * multiplier ** n
    except OverflowError:
        return cap
    return min(cap, grown)


class Preset:
    """What every preset shares: its knobs, its random source, Brooker's retry count, and
    the longest span (every wait at its largest, each rounded up by a worker tick, every
    attempt running into the attempt timeout)."""

    name = "preset"

    def __init__(self, random: RandomSource | None = None, base: float = 30.0, cap: float = 480.0,
                 multiplier: float = 2.0) -> None:
        self.random = random
        self.base = base
        self.cap = cap
        self.multiplier = multiplier

    def _draw(self, low: float, high: float) -> float:
        if self.random is None:
            raise ValueError(f"the {self.name} retry preset needs a random source to draw from")
        return uniform(self.random, low, high)

    def gives_up(self, retry_count: int, max_retries: int) -> bool:
        """Return True once ``retry_count`` failures exceed ``max_retries`` retries."""
        return retry_count > max_retries

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """Return the seconds to wait before retry ``retry_count`` (each preset says how)."""
        raise NotImplementedError

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """Return the least and the most :meth:`retry_delay` can answer, without drawing."""
        raise NotImplementedError

    def most(self, retry_count: int) -> float:
        """Return the longest wait before retry ``retry_count``, whatever was drawn before."""
        return expo(self.base, self.cap, self.multiplier, retry_count)

    def longest_span(self, max_retries: int, worker_interval: float, attempt_timeout: float) -> float:
        """Return the longest time the bus can keep retrying one message."""
        waits = sum(self.most(n) for n in range(1, max_retries + 1))
        return waits + (max_retries + 1) * (worker_interval + attempt_timeout)


class NoRetry(Preset):
    """``none``: one attempt, then a dead letter, as Beam's non-retryable path does."""

    name = "none"

    def gives_up(self, retry_count: int, max_retries: int) -> bool:
        """Always: a failed attempt is never retried."""
        return True

    def most(self, retry_count: int) -> float:
        """No wait: there is no retry."""
        return 0.0

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """No retry is ever scheduled; 0 for completeness."""
        return 0.0

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """No retry is ever scheduled: (0, 0)."""
        return 0.0, 0.0

    def longest_span(self, max_retries: int, worker_interval: float, attempt_timeout: float) -> float:
        """One attempt (its worker tick included, as the other policies count it)."""
        return worker_interval + attempt_timeout


class FixedBackoff(Preset):
    """``fixed``: every retry waits ``base``."""

    name = "fixed"

    def most(self, retry_count: int) -> float:
        """Always ``base``."""
        return self.base

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """Return ``base``."""
        return self.base

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """Exactly ``base``."""
        return self.base, self.base


class ExponentialBackoff(Preset):
    """``exponential``: retry ``n`` waits ``min(cap, base * multiplier**n)``, no jitter."""

    name = "exponential"

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """Return the capped exponential."""
        return expo(self.base, self.cap, self.multiplier, retry_count)

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """Exactly the capped exponential."""
        delay = expo(self.base, self.cap, self.multiplier, retry_count)
        return delay, delay


class FullJitter(Preset):
    """``full_jitter``: ``uniform(0, expo(n))``."""

    name = "full_jitter"

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """Draw in [0, expo(n)]."""
        return self._draw(0.0, expo(self.base, self.cap, self.multiplier, retry_count))

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """[0, expo(n)]."""
        return 0.0, expo(self.base, self.cap, self.multiplier, retry_count)


class EqualJitter(Preset):
    """``equal_jitter``: ``expo(n)/2 + uniform(0, expo(n)/2)``."""

    name = "equal_jitter"

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """Half the exponential, plus a draw in [0, half]."""
        half = expo(self.base, self.cap, self.multiplier, retry_count) / 2
        return half + self._draw(0.0, half)

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """[expo(n)/2, expo(n)]."""
        delay = expo(self.base, self.cap, self.multiplier, retry_count)
        return delay / 2, delay / 2 + delay / 2


class DecorrelatedJitter(Preset):
    """``decorrelated_jitter``: ``min(cap, uniform(base, previous * multiplier))``, where the
    previous sleep is ``base`` before the first retry (and again after a requeue)."""

    name = "decorrelated_jitter"

    def __init__(self, random: RandomSource | None = None, base: float = 30.0, cap: float = 480.0,
                 multiplier: float = 3.0) -> None:
        super().__init__(random, base, cap, multiplier)

    def _previous(self, retry_count: int, previous: float) -> float:
        return self.base if retry_count <= 1 or previous < self.base else previous

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """Draw in [base, previous * multiplier], capped."""
        return min(self.cap, self._draw(self.base, self._previous(retry_count, previous) * self.multiplier))

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """[base, min(cap, previous * multiplier)]."""
        return self.base, min(self.cap, self._previous(retry_count, previous) * self.multiplier)


#: The presets by name; each takes ``(random, **knobs)``.
PRESETS: Final[dict[str, Callable[..., Preset]]] = {
    preset.name: preset
    for preset in (NoRetry, FixedBackoff, ExponentialBackoff, FullJitter, EqualJitter, DecorrelatedJitter)
}
