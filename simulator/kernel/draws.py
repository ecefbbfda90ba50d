"""The two continuous draws a world makes per intent, compiled.

``random.Random.expovariate`` and ``gauss`` are Python functions around the C generator's
``random()``; these are the same arithmetic on the same calls (CPython 3.11's
``random.py``), so a stream gives the same numbers and is left in the same state
(``gauss_next`` included) whichever is called.
"""

from __future__ import annotations

import math
from typing import Any, Final

TWOPI: Final = 2.0 * math.pi


def expovariate(stream: Any, rate: float) -> float:
    """``stream.expovariate(rate)``: an exponential gap with mean ``1 / rate``."""
    return -math.log(1.0 - stream.random()) / rate


def gauss(stream: Any, mu: float = 0.0, sigma: float = 1.0) -> float:
    """``stream.gauss(mu, sigma)``: a normal draw, by pairs (Box-Muller), keeping the
    second of each pair in ``stream.gauss_next`` as ``random.Random`` does."""
    z = stream.gauss_next
    stream.gauss_next = None
    if z is None:
        x2pi: float = stream.random() * TWOPI
        g2rad = math.sqrt(-2.0 * math.log(1.0 - stream.random()))
        z = math.cos(x2pi) * g2rad
        stream.gauss_next = math.sin(x2pi) * g2rad
    value: float = mu + z * sigma
    return value
