"""Bus retry rules: Beam's backoff schedule, what counts as retryable, and the policy seam.

Beam's delay (beam-model §4.4) is reproduced bit for bit, including JavaScript's float
arithmetic and ``Math.round``. Other policies plug in through :class:`RetryPolicy`
without any change to the bus: the presets of :mod:`simulator.beam.backoff` (no retry,
fixed, exponential, full, equal and decorrelated jitter) are selected by name through
:data:`RETRY_POLICIES`.
"""

from __future__ import annotations

import math
import struct
from typing import Callable, Final, Protocol, Sequence

from simulator.beam.backoff import PRESETS, RandomSource

BEAM_BASE_DELAYS: Final[tuple[int, ...]] = (30, 60, 120, 240, 480)
BEAM_MIN_DELAY: Final[int] = 5

#: Error codes the bus never retries, whatever the HTTP status (§4.5).
NON_RETRYABLE_CODES: Final[frozenset[str]] = frozenset(
    {
        "BAD_REQUEST",
        "FORBIDDEN",
        "INVALID_INTENT",
        "NONCE_REUSE_CONFLICT",
        "UNAUTHORIZED",
        "UNKNOWN_SENDER",
    }
)

_RETRYABLE_4XX: Final[frozenset[int]] = frozenset({408, 409, 429})


def utf16_code_units(text: str) -> tuple[int, ...] | bytes:
    """Return the UTF-16 code units of ``text``; a non-BMP character gives two (a surrogate pair)."""
    if text.isascii():
        return text.encode("ascii")
    raw = text.encode("utf-16-le", "surrogatepass")  # a lone surrogate is one unit, as in JS
    return struct.unpack(f"<{len(raw) // 2}H", raw)


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode`` over UTF-16 code units, wrapped to signed 32 bits."""
    h = 0
    for unit in utf16_code_units(text):
        h = (h * 31 + unit) & 0xFFFFFFFF
    return h - 0x100000000 if h & 0x80000000 else h


def beam_jitter_percent(retry_count: int, nonce: str) -> int:
    """Return Beam's integer jitter in [-15, 15] for retry ``retry_count`` of ``nonce``."""
    return abs(java_string_hash(f"{nonce}:{retry_count}")) % 31 - 15


def beam_retry_delay(retry_count: int, nonce: str) -> int:
    """Return Beam's delay in whole seconds before retry ``retry_count`` (1-based) of ``nonce``.

    Counts below 1 clamp to 1; counts above the table reuse its last entry (480 s).
    """
    n = max(1, retry_count)
    base = BEAM_BASE_DELAYS[min(n, len(BEAM_BASE_DELAYS)) - 1]
    jitter = beam_jitter_percent(n, nonce)
    # Same float arithmetic as the JavaScript original, then Math.round (half up).
    return max(BEAM_MIN_DELAY, math.floor(base * (1 + jitter / 100) + 0.5))


def beam_retry_span(max_retries: int, worker_interval: float, attempt_timeout: float) -> float:
    """Return the longest time the bus can keep retrying one message under Beam's policy:
    every wait at its largest jitter, every wait rounded up by a full worker tick, every
    attempt running into the attempt timeout."""
    longest_waits = sum(
        math.ceil(BEAM_BASE_DELAYS[min(n, len(BEAM_BASE_DELAYS)) - 1] * 1.15)
        for n in range(1, max_retries)
    )
    return longest_waits + max_retries * (worker_interval + attempt_timeout)


def is_retryable(error_code: str | None, http_status: int | None) -> bool:
    """Return whether the bus retries an attempt that failed with this code and status (§4.5).

    The code list wins over the status; 408, 409, 429 and 5xx are retryable; any other
    4xx is not; HTTP 200 with ``success:false`` is retryable unless its code is listed.
    """
    if error_code is not None and error_code in NON_RETRYABLE_CODES:
        return False
    if http_status is not None and 400 <= http_status < 500:
        return http_status in _RETRYABLE_4XX
    return True


class RetryPolicy(Protocol):
    """How long the bus waits before a retry, and when it gives up.

    ``retry_count`` is the bus row's count after the failed attempt (1 after the first
    failure): the number of failed attempts so far. The bus asks :meth:`gives_up` first;
    only when it says no does it ask for the :meth:`retry_delay`. ``previous`` is the
    delay the row waited before its last retry (only decorrelated jitter reads it).
    """

    name: str

    def gives_up(self, retry_count: int, max_retries: int) -> bool:
        """Return True when a row that has failed ``retry_count`` times is dead-lettered."""
        ...

    def retry_delay(self, retry_count: int, nonce: str, previous: float) -> float:
        """Return the seconds to wait before the next attempt (may draw a random number)."""
        ...

    def delay_bounds(self, retry_count: int, nonce: str, previous: float) -> tuple[float, float]:
        """Return the least and the most :meth:`retry_delay` can answer, without drawing."""
        ...

    def longest_span(self, max_retries: int, worker_interval: float, attempt_timeout: float) -> float:
        """Return the longest time the bus can keep retrying one message under this policy."""
        ...


class BeamBackoff:
    """Beam's own policy: the §4.4 schedule, dead letter once ``retry_count ≥ max_retries``.

    The first failure schedules ``delay(1)`` with ``retry_count`` 1 whatever
    ``max_retries`` is (``sendMessage`` never checks); the worker's later failures compute
    ``new_count = retry_count + 1`` and give up at ``max_retries``, so the default of 5
    means 5 attempts in all.
    """

    name = "beam"

    def gives_up(self, retry_count: int, max_retries: int) -> bool:
        """Return True once the count reaches ``max_retries`` (Beam's ``newCount ≥ max``),
        never at the first failure."""
        return retry_count >= max_retries and retry_count > 1

    def retry_delay(self, retry_count: int, nonce: str, previous: float = 0.0) -> float:
        """Return :func:`beam_retry_delay`."""
        return beam_retry_delay(retry_count, nonce)

    def delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """Beam's delay is a function of the count and the nonce: both bounds are it."""
        delay = beam_retry_delay(retry_count, nonce)
        return delay, delay

    def longest_span(self, max_retries: int, worker_interval: float, attempt_timeout: float) -> float:
        """Return :func:`beam_retry_span`."""
        return beam_retry_span(max_retries, worker_interval, attempt_timeout)


def _beam(random: RandomSource | None = None) -> RetryPolicy:
    return BeamBackoff()


#: The bus retry policies a scenario can select, by name: each takes the random source
#: jittered presets draw from, and the preset's knobs (``base``, ``cap``, ``multiplier``).
RETRY_POLICIES: Final[dict[str, Callable[..., RetryPolicy]]] = {
    "beam": _beam, **PRESETS,
}


def retry_policy(name: str, random: RandomSource | None = None, **knobs: float) -> RetryPolicy:
    """Return a fresh instance of the retry policy called ``name`` with these knobs."""
    return RETRY_POLICIES[name](random, **knobs)


def follows_schedule(policy: RetryPolicy, nonce: str, scheduled: Sequence[tuple[int, float]]) -> bool:
    """Return whether every ``(retry_count, delay)`` the bus scheduled for ``nonce``, in
    order, lies within ``policy``'s bounds; the delay before retry 1 starts the chain
    again (a requeue)."""
    previous = 0.0
    for retry_count, delay in scheduled:
        low, high = policy.delay_bounds(retry_count, nonce, previous)
        if not low <= delay <= high:
            return False
        previous = delay
    return True
