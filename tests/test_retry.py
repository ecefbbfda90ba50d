"""Bus retry schedule and retryability (beam-model §4.4, §4.5, §14.3, §14.7)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.beam import retry
from simulator.beam.retry import (
    BeamBackoff,
    beam_jitter_percent,
    beam_retry_delay,
    is_retryable,
    java_string_hash,
)

# --- independent reference of §4.4, used only by the property tests --------------------

SPEC_BASES = (30, 60, 120, 240, 480)


def _ref_hash(text: str) -> int:
    """Java String.hashCode over UTF-16 code units, signed 32-bit (§4.4)."""
    raw = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(raw), 2):
        h = (h * 31 + int.from_bytes(raw[i : i + 2], "big")) % 2**32
    return h - 2**32 if h >= 2**31 else h


def _ref_delay(n: int, nonce: str) -> int:
    n = max(1, n)
    base = SPEC_BASES[min(n, 5) - 1]
    j = abs(_ref_hash(f"{nonce}:{n}")) % 31 - 15
    exact = Fraction(base) * (1 + Fraction(j, 100))
    return max(5, int((exact + Fraction(1, 2)) // 1))  # round half up, exactly


# Well-formed text including characters outside the BMP (two UTF-16 code units each).
# Lone surrogates (category Cs) are left out: they are not well-formed text.
NONCES = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
    )
)


# --- java_string_hash -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "" → 0 (no code units).
        ("", 0),
        # "a" → 97.
        ("a", 97),
        # "abc": 97 → 97*31+98 = 3105 → 3105*31+99 = 96354.
        ("abc", 96354),
        # "Aa": 65*31+97 = 2112; "BB": 66*31+66 = 2112 (the classic Java collision).
        ("Aa", 2112),
        ("BB", 2112),
        # "hello": 104 → 3325 → 103183 → 3198781 → 3198781*31+111 = 99162322.
        ("hello", 99162322),
        # "hello world".hashCode() in Java = 1794106052 (wraps past 2^31 on the way).
        ("hello world", 1794106052),
        # "polygenelubricants".hashCode() in Java = Integer.MIN_VALUE.
        ("polygenelubricants", -2147483648),
        # "😀" U+1F600 = surrogates 0xD83D (55357), 0xDE00 (56832): 55357*31+56832 = 1772899.
        ("😀", 1772899),
        # "a😀b": 97 → 97*31+55357 = 58364 → 58364*31+56832 = 1866116 → 1866116*31+98 = 57849694.
        ("a😀b", 57849694),
    ],
)
def test_java_string_hash_matches_java(text, expected):
    assert java_string_hash(text) == expected


def test_non_bmp_char_counts_as_two_code_units():
    # If "😀" were one unit (0x1F600 = 128512) the hash of "a😀b" would be
    # (97*31+128512)*31+98 = 4077211, not 57849694.
    assert java_string_hash("a😀b") == 57849694
    assert java_string_hash("a😀b") != (97 * 31 + 0x1F600) * 31 + 98


@given(NONCES)
def test_java_string_hash_property(text):
    h = java_string_hash(text)
    assert -(2**31) <= h < 2**31
    assert h == _ref_hash(text)


# --- jitter and delay test vectors (§4.4) -----------------------------------------------


def test_retry_nonce_1_jitter_vector():
    assert [beam_jitter_percent(n, "retry-nonce-1") for n in range(1, 7)] == [-6, -5, -4, -3, -2, -1]


def test_retry_nonce_1_delay_vector():
    assert [beam_retry_delay(n, "retry-nonce-1") for n in range(1, 7)] == [28, 57, 115, 233, 470, 475]


def test_demo_nonce_delay_vector():
    assert [beam_retry_delay(n, "demo-nonce") for n in range(1, 7)] == [30, 60, 119, 235, 466, 461]


@pytest.mark.parametrize("count", [0, -3])
def test_counts_below_one_clamp_to_one(count):
    assert beam_retry_delay(count, "retry-nonce-1") == 28
    assert beam_retry_delay(count, "demo-nonce") == 30


def test_counts_below_one_use_seed_of_retry_1():
    # The seed is "<nonce>:<n>" with n already clamped, so 0 and -3 use ":1".
    for nonce in ("retry-nonce-1", "demo-nonce", "x", "😀"):
        assert beam_retry_delay(0, nonce) == beam_retry_delay(1, nonce)
        assert beam_retry_delay(-3, nonce) == beam_retry_delay(1, nonce)


@pytest.mark.parametrize("n", [6, 7, 8, 10, 50, 1000])
def test_counts_above_five_use_base_480(n):
    for nonce in ("retry-nonce-1", "demo-nonce", "abc"):
        j = beam_jitter_percent(n, nonce)
        assert j == abs(_ref_hash(f"{nonce}:{n}")) % 31 - 15
        # 480·(1+j/100) rounded half up, computed exactly.
        assert beam_retry_delay(n, nonce) == int((Fraction(480) * (1 + Fraction(j, 100)) + Fraction(1, 2)) // 1)
        assert 408 <= beam_retry_delay(n, nonce) <= 552


def test_retry_6_of_retry_nonce_1_is_480_with_jitter_minus_1():
    # 480·0.99 = 475.2 → 475; a base of 240 would give 237.6 → 238.
    assert beam_jitter_percent(6, "retry-nonce-1") == -1
    assert beam_retry_delay(6, "retry-nonce-1") == 475


SPEC_RANGES = {1: (26, 35), 2: (51, 69), 3: (102, 138), 4: (204, 276), 5: (408, 552)}


@given(nonce=NONCES, n=st.integers(min_value=1, max_value=5))
def test_delay_in_spec_range(nonce, n):
    low, high = SPEC_RANGES[n]
    delay = beam_retry_delay(n, nonce)
    assert isinstance(delay, int)
    assert low <= delay <= high
    assert -15 <= beam_jitter_percent(n, nonce) <= 15


@given(nonce=NONCES, n=st.integers(min_value=-5, max_value=40))
def test_delay_matches_reference(nonce, n):
    assert beam_retry_delay(n, nonce) == _ref_delay(n, nonce)


@pytest.mark.parametrize(("n", "low", "high"), [(n, lo, hi) for n, (lo, hi) in SPEC_RANGES.items()])
def test_range_endpoints_are_reached_by_jitter_extremes(n, low, high):
    # j = -15 and j = +15, rounded half up: 25.5→26, 34.5→35, 51, 69, 102, 138, 204, 276, 408, 552.
    base = SPEC_BASES[n - 1]
    assert int((Fraction(base) * Fraction(85, 100) + Fraction(1, 2)) // 1) == low
    assert int((Fraction(base) * Fraction(115, 100) + Fraction(1, 2)) // 1) == high


def test_constants():
    assert retry.BEAM_BASE_DELAYS == (30, 60, 120, 240, 480)
    assert retry.BEAM_MIN_DELAY == 5


@pytest.mark.parametrize("bases", [(4, 4, 4, 4, 4), (1, 2, 3, 4, 4), (0, 0, 0, 0, 0)])
def test_floor_of_five(monkeypatch, bases):
    # With the default table the floor never applies (minimum is 26), so shrink the table:
    # 4·1.15 = 4.6 → 5, 4·0.85 = 3.4 → 3 → floored to 5.
    monkeypatch.setattr(retry, "BEAM_BASE_DELAYS", bases)
    for nonce in ("retry-nonce-1", "demo-nonce", "a😀b", ""):
        for n in range(1, 8):
            assert beam_retry_delay(n, nonce) == 5


def test_floor_does_not_clip_above_five(monkeypatch):
    # base 10, j = -6 for retry-nonce-1 n=1 → 9.4 → 9 (not floored, not the base).
    monkeypatch.setattr(retry, "BEAM_BASE_DELAYS", (10, 10, 10, 10, 10))
    assert beam_retry_delay(1, "retry-nonce-1") == 9


# --- retryability (§4.5, §14.7) ---------------------------------------------------------

NON_RETRYABLE_CODES = [
    "BAD_REQUEST",
    "FORBIDDEN",
    "INVALID_INTENT",
    "NONCE_REUSE_CONFLICT",
    "UNAUTHORIZED",
    "UNKNOWN_SENDER",
]


@pytest.mark.parametrize("status", [503, 429, 408, 409, 500, 504, 200, 400, 403, None])
@pytest.mark.parametrize("code", NON_RETRYABLE_CODES)
def test_listed_codes_never_retry(code, status):
    assert is_retryable(code, status) is False


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
@pytest.mark.parametrize("code", ["SHIELD_BLOCKED", "SHIELD_PAYLOAD_TOO_LARGE", "RATE_LIMITED", "OFFLINE", None])
def test_hard_4xx_statuses_do_not_retry(code, status):
    assert is_retryable(code, status) is False


@pytest.mark.parametrize("status", [402, 405, 410, 422, 451, 499])
def test_other_4xx_do_not_retry(status):
    assert is_retryable(None, status) is False


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (None, 408),
        ("TIMEOUT", 408),
        ("IN_PROGRESS", 409),
        (None, 409),
        ("RATE_LIMITED", 429),
        ("SHIELD_RATE_LIMITED", 429),
        (None, 429),
        ("RELAY_ERROR", 500),
        ("OFFLINE", 503),
        ("TIMEOUT", 504),
        (None, 502),
        (None, 599),
        ("TIMEOUT", None),
        ("DELIVERY_FAILED", None),
        ("DIRECT_HTTP_FAILED", None),
        (None, None),
        ("RESULT_ERROR", 200),
        ("INTENT_HANDLER_ERROR", 200),
    ],
)
def test_retryable_cases(code, status):
    assert is_retryable(code, status) is True


# --- BeamBackoff ------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(-2, 13))
def test_beam_backoff_gives_up_exactly_at_max(n):
    assert BeamBackoff().gives_up(n, 5) is (n >= 5)


def test_beam_backoff_five_attempts_then_dead_letter():
    # §4.4: initial attempt sets retry_count 1; worker failures give newCount = 2, 3, 4, 5;
    # the one reaching 5 dead-letters. So counts 1..4 are retried, 5 is not.
    policy = BeamBackoff()
    assert [policy.gives_up(n, 5) for n in (1, 2, 3, 4, 5)] == [False, False, False, False, True]


def test_beam_backoff_delay_is_beam_delay():
    policy = BeamBackoff()
    assert policy.name == "beam"
    assert [policy.retry_delay(n, "retry-nonce-1") for n in range(1, 6)] == [28, 57, 115, 233, 470]
