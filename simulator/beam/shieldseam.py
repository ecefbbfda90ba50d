"""The trust gate's per-sender Shield config seam: another Shield config for one
recipient, for the frames a cohort of sender tenants sends it.

The directory's trust gate (:func:`simulator.beam.shield.trust_gate`) reads the
recipient's own config unless a seam is installed (:attr:`Security.shield_seam`) for that
recipient. Then, for a sender whose tenant is in the cohort, ``live`` gates the frame with
the seam's config (fields it leaves None are the recipient's own, read at that moment),
``shadow`` works out both decisions, keeps the own one and reports the pair to
``shadowed`` as a :class:`~simulator.beam.agents.ShadowAnswer` (latency 0; success: the
gate let the frame through). The own decision is worked out on a read-only view of the
pair-limit windows (:class:`PeekWindows`), so the real gate after it counts as it would
have; the shadow's counts in windows of its own, a copy of the real ones taken when the
shadow began (the change's limit applies to what the own config counted before, and to
what the change would have counted since). The shared cleanup wipes both.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

from simulator.beam.agents import ShadowAnswer
from simulator.beam.ratelimit import FixedWindows
from simulator.beam.shield import ShieldConfig, trust_gate
from simulator.scenario.tenants import tenant_of


class PeekWindows(FixedWindows):
    """A read-only view of fixed windows: :meth:`hit` says whether the real windows would
    count the request, and counts nothing."""

    __slots__ = ("real",)

    def __init__(self, real: FixedWindows) -> None:
        super().__init__(real.window)
        self.real = real

    def hit(self, key: str, limit: int, now: float) -> bool:
        """Whether ``real.hit`` would let the request through now (no state changes)."""
        return self.real.count(key, now) < limit


class ShieldOverride:
    """The Shield config fields a change sets; None keeps the recipient's own."""

    __slots__ = ("mode", "allowlist", "blocklist", "min_trust", "rate_limit")

    def __init__(self, mode: str | None = None, allowlist: list[str] | None = None,
                 blocklist: list[str] | None = None, min_trust: float | None = None,
                 rate_limit: int | None = None) -> None:
        self.mode = mode
        self.allowlist = allowlist
        self.blocklist = blocklist
        self.min_trust = min_trust
        self.rate_limit = rate_limit

    def over(self, own: ShieldConfig) -> ShieldConfig:
        """``own`` with the fields this override sets replaced."""
        return ShieldConfig(own.mode if self.mode is None else self.mode,
                            own.allowlist if self.allowlist is None else self.allowlist,
                            own.blocklist if self.blocklist is None else self.blocklist,
                            own.min_trust if self.min_trust is None else self.min_trust,
                            own.rate_limit if self.rate_limit is None else self.rate_limit)


class ShieldSeam:
    """Another Shield config for ``recipient``'s trust gate, for a cohort of sender tenants."""

    def __init__(self, recipient: str, override: ShieldOverride) -> None:
        self.recipient = recipient
        self.override = override
        self.mode: Literal["off", "shadow", "live"] = "off"
        #: The sender tenants the seam applies to.
        self.cohort: frozenset[str] = frozenset()
        #: Nonces of the frames the seam's config gated live, in order.
        self.served: list[str] = []
        #: Told of each frame gated in shadow: the own decision and the seam's.
        self.shadowed: Callable[[ShadowAnswer], None] | None = None
        #: The shadow's pair-limit windows (None until the shadow gates its first frame).
        self.shadow_windows: FixedWindows | None = None

    def set(self, cohort: frozenset[str], mode: Literal["off", "shadow", "live"]) -> None:
        """Apply the seam to ``cohort`` in ``mode`` from now; a new shadow starts from the real windows."""
        if mode != "shadow":
            self.shadow_windows = None
        self.cohort = cohort
        self.mode = mode

    def wipe_older_than(self, cutoff: float) -> None:
        """The shared cleanup: the shadow's windows go as the real ones do."""
        if self.shadow_windows is not None:
            self.shadow_windows.wipe_older_than(cutoff)

    def config_for(self, frame: Any, own: ShieldConfig, trust: float, pairs: FixedWindows,
                   now: float) -> ShieldConfig:
        """The config the trust gate applies to ``frame`` (sent to :attr:`recipient`)."""
        if self.mode == "off":
            return own
        tenant = tenant_of(frame.sender)
        if tenant not in self.cohort:
            return own
        changed = self.override.over(own)
        if self.mode == "live":
            self.served.append(frame.nonce)
            return changed
        if self.shadow_windows is None:
            self.shadow_windows = pairs.copy()
        passes = trust_gate(own, frame.sender, frame.recipient, trust, PeekWindows(pairs), now) is None
        shadow_passes = trust_gate(changed, frame.sender, frame.recipient, trust, self.shadow_windows, now) is None
        if self.shadowed is not None:
            self.shadowed(ShadowAnswer(frame.nonce, tenant, 0.0, passes, 0.0, shadow_passes))
        return own
