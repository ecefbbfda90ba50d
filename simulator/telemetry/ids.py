"""Seeded trace and span ids: the same scenario, seed and nonce give the same ids in any
process and on any machine.

Ids are SHA-256 digests of the root seed, the nonce and the span's index in its trace,
never Python's ``hash()`` (salted per process) nor a random generator whose state depends
on what else was traced:

- trace id: the first 16 bytes of ``SHA-256("{seed}␟{nonce}")``;
- span ``i`` (0 is the root): bytes ``8·(i mod 4)`` to ``8·(i mod 4) + 8`` of
  ``SHA-256("{seed}␟{nonce}␟{i div 4}")``, so one digest serves four spans (a typical
  trace of four spans costs two digests, not five).

``␟`` is U+001F. Ids are lowercase hex, as OTLP JSON writes them: 32 digits for a trace,
16 for a span. An all-zero id is invalid in OpenTelemetry; the one-in-2^64 digest that
would give one is mapped to ``…01``.
"""

from __future__ import annotations

import importlib
from hashlib import sha256
from typing import Any, Callable, Final


def _builtin_sha256() -> Callable[[bytes], Any]:
    """CPython's own SHA-256 (hashlib's fallback), else hashlib's: for texts this short it is
    twice as fast as OpenSSL's, which sets up a context per call. Same digests by definition."""
    for module in ("_sha256", "_sha2"):  # Python 3.11, 3.12+
        try:
            function: Callable[[bytes], Any] = getattr(importlib.import_module(module), "sha256")
        except (ImportError, AttributeError):
            continue
        return function
    return sha256


_short_sha256: Final = _builtin_sha256()

_ZERO_TRACE: Final[str] = "0" * 32
_ZERO_SPAN: Final[str] = "0" * 16
_SPANS_PER_DIGEST: Final[int] = 4


def trace_id(seed: int, nonce: str) -> str:
    """Return the 32-hex-digit trace id of ``nonce`` under root seed ``seed``."""
    text = sha256(f"{seed}\x1f{nonce}".encode()).hexdigest()[:32]
    return text if text != _ZERO_TRACE else _ZERO_TRACE[:-1] + "1"


def span_id(seed: int, nonce: str, index: int) -> str:
    """Return the 16-hex-digit id of span number ``index`` (0 = the root) of ``nonce``'s trace."""
    block, slot = divmod(index, _SPANS_PER_DIGEST)
    text = sha256(f"{seed}\x1f{nonce}\x1f{block}".encode()).hexdigest()[16 * slot:16 * slot + 16]
    return text if text != _ZERO_SPAN else _ZERO_SPAN[:-1] + "1"


def span_ids(seed: int, nonce: str, count: int) -> list[str]:
    """Return the ids of spans ``0 … count-1`` of ``nonce``'s trace (as :func:`span_id` gives them)."""
    prefix = f"{seed}\x1f{nonce}\x1f"
    ids: list[str] = []
    for block in range((count + _SPANS_PER_DIGEST - 1) // _SPANS_PER_DIGEST):
        text = sha256(f"{prefix}{block}".encode()).hexdigest()
        ids += (text[0:16], text[16:32], text[32:48], text[48:64])
    del ids[count:]
    if _ZERO_SPAN in ids:
        ids = [text if text != _ZERO_SPAN else _ZERO_SPAN[:-1] + "1" for text in ids]
    return ids


class SeededIds:
    """:func:`trace_id` and :func:`span_ids` for one root seed, faster: the seed's part of
    every digested text is encoded once, and a nonce once for both ids."""

    __slots__ = ("_prefix",)

    def __init__(self, seed: int) -> None:
        self._prefix = f"{seed}\x1f".encode()

    def trace(self, nonce: str) -> str:
        """:func:`trace_id` of ``nonce``."""
        text = _short_sha256(self._prefix + nonce.encode()).hexdigest()[:32]
        return text if text != _ZERO_TRACE else _ZERO_TRACE[:-1] + "1"

    def ids(self, nonce: str, count: int, trace: str | None = None) -> tuple[str, list[str]]:
        """The trace id of ``nonce`` (``trace`` if given) and the ids of its ``count`` spans."""
        start = self._prefix + nonce.encode()
        if trace is None:
            trace = _short_sha256(start).hexdigest()[:32]
            if trace == _ZERO_TRACE:
                trace = _ZERO_TRACE[:-1] + "1"
        text = _short_sha256(start + b"\x1f0").hexdigest()
        spans = [text[0:16], text[16:32], text[32:48], text[48:64]]
        for block in range(1, (count + _SPANS_PER_DIGEST - 1) // _SPANS_PER_DIGEST):
            text = _short_sha256(b"%s\x1f%d" % (start, block)).hexdigest()
            spans += (text[0:16], text[16:32], text[32:48], text[48:64])
        if count != len(spans):
            del spans[count:]
        if _ZERO_SPAN in spans:
            spans = [text if text != _ZERO_SPAN else _ZERO_SPAN[:-1] + "1" for text in spans]
        return trace, spans
