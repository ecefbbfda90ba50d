"""Units: the durations and rates scenario files write, and the whole milliseconds Beam's
timestamps and latencies are counted in."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Final, Union

from pydantic import BeforeValidator, Field, StringConstraints

_NUMBER = r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_BARE_NUMBER = re.compile(rf"-?{_NUMBER}")
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|s|m|h|d)")
_DURATION_WHOLE = re.compile(rf"(?:{_NUMBER}(?:ms|s|m|h|d))+")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RATE = re.compile(rf"({_NUMBER})\s*/\s*(s|sec|second|m|min|minute|h|hour|d|day)")
_RATE_SECONDS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0,
    "h": 3600.0, "hour": 3600.0,
    "d": 86400.0, "day": 86400.0,
}

DURATION_HINT = "a duration like 250ms, 30s, 5m, 1h30m or a number of seconds"
RATE_HINT = "a rate like 10/s, 30/min, 600/h or a number per second"
#: The longest duration any input may give: a leap year of virtual time.
MAX_DURATION: Final[float] = 366 * 86400.0
#: The highest rate any input may give, per second (one route).
MAX_RATE: Final[float] = 10_000.0


def parse_duration(value: Any) -> float:
    """Return ``value`` in seconds; accept non-negative numbers and strings like ``1h30m``."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_HINT}")
    if isinstance(value, str) and _BARE_NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and _DURATION_WHOLE.fullmatch(value.strip().removeprefix("-")):
        text = value.strip()
        seconds = sum(
            float(amount) * _UNIT_SECONDS[unit] for amount, unit in _DURATION_PART.findall(text)
        ) * (-1 if text.startswith("-") else 1)
    else:
        raise ValueError(f"expected {DURATION_HINT}")
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"expected {DURATION_HINT}, not negative")
    if not seconds <= MAX_DURATION:
        raise ValueError(f"expected a duration of at most 366d ({MAX_DURATION:.0f} s), found {value!r}")
    return seconds


def parse_rate(value: Any) -> float:
    """Return ``value`` in events per second; accept numbers and strings like ``30/min``."""
    if isinstance(value, bool):
        raise ValueError(f"expected {RATE_HINT}")
    if isinstance(value, (int, float)):
        per_second = float(value)
    elif isinstance(value, str) and (match := _RATE.fullmatch(value.strip().removeprefix("-"))):
        sign = -1 if value.strip().startswith("-") else 1
        per_second = sign * float(match.group(1)) / _RATE_SECONDS[match.group(2)]
    else:
        raise ValueError(f"expected {RATE_HINT}")
    if per_second < 0:
        raise ValueError(f"expected {RATE_HINT}, not negative")
    if not per_second > 0:
        raise ValueError(f"expected {RATE_HINT}, greater than zero")
    if not per_second <= MAX_RATE:
        raise ValueError(f"expected a rate of at most {MAX_RATE:,.0f}/s, found {value!r}")
    return per_second


def format_duration(seconds: float) -> str:
    """``seconds`` as a scenario file writes a duration, to the millisecond: ``250ms``,
    ``30s``, ``12m30s``, ``1h30m``, ``1d2h``, ``6.2s`` (``0s`` for zero). :func:`parse_duration`
    reads it back."""
    total_ms = round(seconds * 1000)
    if total_ms < 1000:
        return f"{total_ms}ms" if total_ms else "0s"
    parts: list[str] = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        amount, total_ms = divmod(total_ms, size)
        if amount:
            parts.append(f"{amount}{unit}")
    if total_ms:
        parts.append(f"{total_ms / 1000:g}s")
    return "".join(parts)


#: What a file may write for a duration and a rate, as JSON Schema sees it (the schemas editors
#: validate YAML with): a number, or a string :func:`parse_duration` / :func:`parse_rate` reads.
DurationInput = Union[Annotated[float, Field(ge=0)], Annotated[str, StringConstraints(
    pattern=rf"^\s*(?:{_NUMBER}|(?:{_NUMBER}(?:ms|s|m|h|d))+)\s*$")]]
RateInput = Union[Annotated[float, Field(gt=0)], Annotated[str, StringConstraints(
    pattern=rf"^\s*{_NUMBER}\s*/\s*(?:{'|'.join(_RATE_SECONDS)})\s*$")]]
#: Seconds, written in a scenario as ``30s``, ``5m``, ``1h`` or a number.
Duration = Annotated[float, BeforeValidator(parse_duration, json_schema_input_type=DurationInput),
                     Field(description=f"{DURATION_HINT[0].upper()}{DURATION_HINT[1:]}.")]
#: A duration that is more than zero.
PositiveDuration = Annotated[Duration, Field(gt=0)]
#: Events per second, written as ``10/s``, ``30/min`` or a number.
Rate = Annotated[float, BeforeValidator(parse_rate, json_schema_input_type=RateInput),
                 Field(description=f"{RATE_HINT[0].upper()}{RATE_HINT[1:]}.")]


def to_ms(seconds: float) -> int:
    """Virtual seconds as whole milliseconds, half up as JavaScript's ``Math.round``: the
    precision of Beam's directory timestamps, ISO strings with milliseconds (beam-model §1).
    (Hot paths inline ``int(seconds * 1000.0 + 0.5)``, the same for the non-negative times
    of rows; the two differ only before −0.5 ms.)"""
    return math.floor(seconds * 1000.0 + 0.5)


def latency_ms(requested_at: float, finished_at: float) -> int:
    """An intent's latency in whole milliseconds: the difference of its two timestamps,
    each first taken to the millisecond (:func:`to_ms`), not the difference rounded.

    Beam's relay measures ``Date.now() − startedAt`` on its millisecond clock and stores it
    as ``round_trip_latency_ms`` beside the ISO timestamps of the row (beam-model §1:
    directory rows use ISO strings; §9.2: the overview's latencies are those stored ones),
    so a latency always equals ``finishedAt − requestedAt`` read off the row. From
    10.2346 s to 10.9121 s that is 10912 − 10235 = 677 ms, where rounding the 677.5 ms
    difference would give 678.
    """
    return to_ms(finished_at) - to_ms(requested_at)
