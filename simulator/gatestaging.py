"""Staged handles of the changes that act at a gate rather than at the agent: a Shield
config at the directory's trust gate (:class:`StagedShield`) and a per-sender rate limit
at the bus (:class:`StagedRateLimit`). See :mod:`simulator.changes`."""

from __future__ import annotations

from typing import Callable

import simpy

from simulator.beam.agents import ShadowAnswer
from simulator.beam.bus import Bus
from simulator.beam.limitseam import SendLimitSeam
from simulator.beam.security import Security
from simulator.beam.shieldseam import ShieldOverride, ShieldSeam
from simulator.changes import Exposure, RateLimitChange, ShieldChange, StagedChange


class StagedShield(StagedChange):
    """A ``shield`` change: the trust gate applies the change's config to the frames a
    cohort tenant sends the agent while it is live, or works both decisions out (shadow)."""

    def __init__(self, change: ShieldChange, security: Security, env: simpy.Environment) -> None:
        self.change = change
        spec = change.shield
        self.seam = ShieldSeam(change.agent, ShieldOverride(spec.mode, spec.allowlist, spec.blocklist,
                                                            spec.min_trust, spec.rate_limit))
        security.shield_seam = self.seam
        super().__init__(env, self.seam)

    def on_shadow(self, listener: Callable[[ShadowAnswer], None] | None) -> None:
        """Tell ``listener`` of every frame the shadow gates from now on (latency 0;
        success: the gate let it through)."""
        self.seam.shadowed = listener

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        self.seam.set(cohort, exposure)


class StagedRateLimit(StagedChange):
    """A ``rate_limit`` change: the bus counts the cohort's senders' sends against the
    change's limit while it is live. It has no shadow."""

    def __init__(self, change: RateLimitChange, bus: Bus) -> None:
        self.change = change
        self.seam = SendLimitSeam(change.agent, change.limit_per_min)
        bus.limit_seam = self.seam
        super().__init__(bus.env, self.seam)

    def _check(self, exposure: Exposure) -> None:
        if exposure == "shadow":
            raise ValueError(f"a rate_limit change has no shadow (the limiter's verdict depends on the sends it "
                             f"accepted itself): expose {self.change.agent} version {self.change.version} live or off")

    def _set(self, cohort: frozenset[str], exposure: Exposure) -> None:
        assert exposure != "shadow"
        self.seam.cohort = cohort
        self.seam.mode = exposure
