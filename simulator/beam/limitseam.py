"""The bus's per-sender rate limit seam, and the hook every rate limiter tells of a refusal.

The bus counts each sender's accepted sends in a sliding minute against its own
``rate_limit_per_min`` (beam-model §5.4) unless a seam is installed (:attr:`Bus.limit_seam`)
whose cohort holds the sender's tenant: that sender's sends are then counted against the
seam's limit, whoever they go to (Beam's limiter keys on the sender alone). The window is
the sender's own either way: changing the limit keeps what it already counted.
"""

from __future__ import annotations

from typing import Callable, Literal

from simulator.beam.busrows import BusMessage
from simulator.scenario.tenants import tenant_of

#: Told ``(virtual time, sender, recipient, limiter)`` of every send a rate limiter refused.
RateLimitListener = Callable[[float, str, str, str], None]


class SendLimitSeam:
    """Another per-sender limit for the senders of a cohort of tenants; ``recipient`` only
    names whose accepted intents count as :attr:`served`."""

    def __init__(self, recipient: str, limit_per_min: int) -> None:
        self.recipient = recipient
        self.limit_per_min = limit_per_min
        self.mode: Literal["off", "live"] = "off"
        #: The sender tenants the limit applies to.
        self.cohort: frozenset[str] = frozenset()
        #: Nonces of the intents to :attr:`recipient` accepted under the seam's limit, in order.
        self.served: list[str] = []

    def limit_for(self, sender: str, own: int) -> int:
        """The limit ``sender``'s next send is counted against (``own``: the bus's)."""
        if self.mode == "live" and tenant_of(sender) in self.cohort:
            return self.limit_per_min
        return own

    def accepted(self, msg: BusMessage) -> None:
        """Note a send the bus accepted: served when the seam's limit counted it."""
        if self.mode == "live" and msg.recipient == self.recipient and tenant_of(msg.sender) in self.cohort:
            self.served.append(msg.nonce)
