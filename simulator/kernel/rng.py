"""Named random streams derived from one root seed with a stable hash.

Each component draws from its own stream (``world.rng("agent:finance@acme.beam.directory")``),
so adding a draw in one place never shifts the numbers another component sees, and a run is
reproducible across processes and machines: the derivation uses SHA-256, never ``hash()``.
"""

from __future__ import annotations

import _random
import hashlib
import random
from typing import Any, Final

_new_random: Final = random.Random.__new__
_seed_random: Final = _random.Random.seed
_draw_random: Final = _random.Random.random
_draw_bits: Final = _random.Random.getrandbits


def derive_seed(root_seed: int, name: str) -> int:
    """Return a 64-bit seed for stream ``name`` under ``root_seed``."""
    digest = hashlib.sha256(f"{root_seed}\x1f{name}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


class Streams:
    """A family of named :class:`random.Random` streams under one root seed."""

    __slots__ = ("root_seed", "_streams")

    def __init__(self, root_seed: int) -> None:
        self.root_seed = root_seed
        self._streams: dict[str, random.Random] = {}

    def __call__(self, name: str) -> random.Random:
        """Return the stream called ``name``, creating it on first use (seeded at its
        first draw, see :class:`_SeededOnFirstDraw`)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = _new_random(_SeededOnFirstDraw)
            stream.gauss_next = None  # type: ignore[attr-defined]  # as random.Random.seed sets it
            stream._pending_seed = (self.root_seed, name)  # type: ignore[attr-defined]
        return stream


class _SeededOnFirstDraw(random.Random):
    """A :class:`random.Random` whose seed is derived and set when it is first drawn from
    (or its state is asked), then an ordinary ``random.Random``: its class is changed back,
    so later draws cost nothing extra. Its draws are those of
    ``seeded_random(derive_seed(root_seed, name))``. A world of 10,000 agents makes a
    stream per agent at build, most of which draw nothing until the agent's first intent.

    Every draw of ``random.Random`` goes through ``random`` or ``getrandbits``, so those
    (and the state's accessors) are the only methods it overrides."""

    __slots__ = ()  # the layout of random.Random, so that its class can be changed back

    def random(self) -> float:
        """The next float in [0, 1), after seeding."""
        _seed_now(self)
        return _draw_random(self)

    def getrandbits(self, k: int, /) -> int:
        """The next ``k`` random bits, after seeding."""
        _seed_now(self)
        return _draw_bits(self, k)

    def getstate(self) -> tuple[Any, ...]:
        """The state, after seeding."""
        _seed_now(self)
        return random.Random.getstate(self)

    def setstate(self, state: tuple[Any, ...]) -> None:
        """Set the state; the pending seed is dropped."""
        _seed_now(self)
        random.Random.setstate(self, state)

    def seed(self, a: Any = None, version: int = 2) -> None:
        """Seed with ``a``; the pending seed is dropped."""
        _seed_now(self)
        random.Random.seed(self, a, version)


def _seed_now(stream: random.Random) -> None:
    """Seed ``stream`` with its pending seed and make it a plain ``random.Random``, unless
    that was done (a method bound before the first draw still comes here)."""
    pending: tuple[int, str] | None = stream.__dict__.pop("_pending_seed", None)
    if pending is not None:
        _seed_random(stream, derive_seed(*pending))
        stream.__class__ = random.Random


def seeded_random(seed: int) -> random.Random:
    """``random.Random(seed)`` for an int ``seed``, the same state, without the Python-level
    ``__init__`` and ``seed`` wrappers (a world with 10,000 agents seeds 20,000 streams)."""
    stream: random.Random = _new_random(random.Random)
    _seed_random(stream, seed)
    stream.gauss_next = None  # type: ignore[attr-defined]  # set by random.Random.seed, untyped
    return stream


def random_hex_id(stream: random.Random) -> str:
    """Return a 32-hex-digit id (Beam's UUIDs without dashes) drawn from ``stream``."""
    return f"{stream.getrandbits(128):032x}"


def random_uuid(stream: random.Random) -> str:
    """Return a version-4-shaped UUID string drawn from ``stream``."""
    value = stream.getrandbits(128)
    value = (value & ~(0xF << 76)) | (0x4 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
