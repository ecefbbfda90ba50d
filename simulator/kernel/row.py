"""The part of a store row the kernel reads: its nonce, its lifecycle state and when it
last finished.

The directory's ``intent_log`` rows and the bus's ``beam_messages`` rows derive from
:class:`LifecycleRow`, so :class:`~simulator.kernel.lifecycle.Ledger` and
:class:`~simulator.kernel.retention.Retention`, compiled, read these three fields as
struct members rather than through a generic attribute lookup on every move.
"""

from __future__ import annotations

from typing import Final

#: The fields :class:`LifecycleRow` holds; a subclass's ``__slots__`` leaves them out.
LIFECYCLE_FIELDS: Final[tuple[str, ...]] = ("nonce", "status", "finished_at")


class LifecycleRow:
    """A row whose lifecycle a ledger guards: ``status`` is its state ("" before it is
    admitted) and ``finished_at`` the virtual time it last reached a final state."""

    __slots__ = LIFECYCLE_FIELDS

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.status = ""
        self.finished_at: float | None = None
