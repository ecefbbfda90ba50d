"""Which intents' traces a span recorder keeps.

- ``all``: every intent.
- ``failed``: only intents whose final state on their own path is not ``acked`` (failed,
  dead_letter, still in flight when the run ended, or refused before any lifecycle row).
  All spans of a kept intent are kept together.
- ``sampled:F``: a deterministic fraction ``F`` of intents, chosen by a stable hash of the
  seed and the nonce: the intent is kept when the low 64 bits of its seeded trace id are
  below ``F · 2^64``, the rule of OpenTelemetry's ``TraceIdRatioBased`` sampler, so a
  collector applying that sampler to these ids agrees with the recorder.
"""

from __future__ import annotations

import math
from typing import Final, Literal, NamedTuple

SamplingMode = Literal["all", "failed", "sampled"]
_BOUND: Final[int] = 1 << 64


class Sampling(NamedTuple):
    """A sampling rule: ``mode`` and, for ``sampled``, the ``fraction`` of intents kept."""

    mode: SamplingMode = "all"
    fraction: float = 1.0


#: Keep every intent.
ALL: Final[Sampling] = Sampling("all", 1.0)

_USAGE: Final[str] = "expected 'all', 'failed' or 'sampled:FRACTION' with 0 <= FRACTION <= 1 (e.g. sampled:0.1)"


def parse_sampling(text: str) -> Sampling:
    """Parse ``all``, ``failed`` or ``sampled:0.1``; raise ValueError saying what is accepted."""
    value = text.strip().lower()
    if value == "all":
        return ALL
    if value == "failed":
        return Sampling("failed", 1.0)
    if value.startswith("sampled:"):
        number = value.removeprefix("sampled:").strip()
        try:
            fraction = float(number)
        except ValueError:
            raise ValueError(f"sampling: {_USAGE}, found {text!r} ({number!r} is not a number)") from None
        if not math.isfinite(fraction) or not 0.0 <= fraction <= 1.0:
            raise ValueError(f"sampling: {_USAGE}, found {text!r} (fraction out of range)")
        return Sampling("sampled", fraction)
    raise ValueError(f"sampling: {_USAGE}, found {text!r}")


def ratio_bound(fraction: float) -> int:
    """Return the bound a trace id's low 64 bits must stay below to be sampled at ``fraction``."""
    return round(fraction * _BOUND)


def in_sample(trace_id: str, bound: int) -> bool:
    """True when the trace with hex id ``trace_id`` falls in the sample of :func:`ratio_bound` ``bound``."""
    return int(trace_id[16:], 16) < bound
