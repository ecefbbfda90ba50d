"""The bus's per-intent retry policy seam: which policy each new intent is sent under.

The bus sends every intent under its own retry policy unless a seam is installed
(:attr:`Bus.seam`) and its ``choose`` names another policy for the intent when the bus
accepts it. The choice is pinned for the intent's life (its retries, a requeue), as its
``max_retries`` is: rolling a change back decides for new intents only.
"""

from __future__ import annotations

from typing import Callable

from simulator.beam.busrows import BusMessage
from simulator.beam.retry import RetryPolicy

#: Picks a new row's retry policy and its ``max_retries``, or None for the bus's own.
PolicyChooser = Callable[[BusMessage], "tuple[RetryPolicy, int] | None"]


class RetrySeam:
    """Per-intent retry policies, pinned when the bus accepts an intent."""

    def __init__(self, choose: PolicyChooser) -> None:
        self.choose = choose
        #: The policies ``choose`` picked, by message id.
        self.pinned: dict[str, RetryPolicy] = {}

    def pin(self, msg: BusMessage) -> None:
        """Ask ``choose`` for a new row's policy; pin it, and its ``max_retries``, if given."""
        chosen = self.choose(msg)
        if chosen is not None:
            self.pinned[msg.id], msg.max_retries = chosen

    def policy_of(self, msg: BusMessage, own: RetryPolicy) -> RetryPolicy:
        """The policy ``msg`` was pinned to, else the bus's ``own``."""
        return self.pinned.get(msg.id, own)
