"""Pacing a world in real time: N virtual seconds per wall second.

The pacer owns the only wall clock of a GameDay. It computes the virtual target from the
wall clock (``anchor_virtual + (wall - anchor_wall) * speed``) and asks its ``advance``
callback to run the world there in steps of at most ``max_step`` virtual seconds,
yielding to the event loop between steps so API requests are answered while the world
catches up. The world itself never reads the wall clock: it only ever sees
``advance(to)`` with a virtual time, so a paced run and an unpaced one that make the same
calls at the same virtual times are the same run.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import anyio

from simulator.kernel.percentile import nearest_rank_index

#: Most lag samples kept (a day at 20 ticks a second is more than any GameDay needs).
MAX_LAG_SAMPLES = 2_000_000


class Pacer:
    """Advances a world towards the wall-clock target; pause, resume and change speed."""

    def __init__(self, advance: Callable[[float], None], now: Callable[[], float], end: float, *,
                 speed: float = 1.0, tick: float = 0.05, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number, not {speed}")
        self._advance = advance
        self._now = now
        self.end = end
        self.tick = tick
        self.clock = clock
        self.speed = speed
        self.paused = False
        self._anchor_wall = clock()
        self._anchor_virtual = now()
        #: Virtual seconds the world was behind the wall target after each catch-up.
        self.lags: list[float] = []
        self.stopped = anyio.Event()

    @property
    def max_step(self) -> float:
        """The most virtual time one step advances before the loop answers requests again."""
        return max(self.speed * self.tick, 0.001)

    def target(self) -> float:
        """Where the world should be now by the wall clock (never past the end)."""
        if self.paused:
            return min(self._anchor_virtual, self.end)
        return min(self._anchor_virtual + (self.clock() - self._anchor_wall) * self.speed, self.end)

    def _reanchor(self) -> None:
        self._anchor_wall = self.clock()
        self._anchor_virtual = self._now()

    def pause(self) -> bool:
        """Stop the virtual clock where the world is; False if it was paused already."""
        if self.paused:
            return False
        self._reanchor()
        self.paused = True
        return True

    def resume(self) -> bool:
        """Start the virtual clock again from where it stopped; False if it was running."""
        if not self.paused:
            return False
        self._reanchor()
        self.paused = False
        return True

    def set_speed(self, speed: float) -> None:
        """Run at ``speed`` virtual seconds per wall second from now on."""
        if not (math.isfinite(speed) and speed > 0):
            raise ValueError(f"speed must be a positive number, not {speed}")
        if not self.paused:
            self._reanchor()
        self.speed = speed

    def lag_p99(self) -> float | None:
        """The 99th percentile (nearest rank) of the lag samples, None before any."""
        return sorted(self.lags)[nearest_rank_index(len(self.lags), 0.99)] if self.lags else None

    async def step(self) -> None:
        """Catch the world up with the target, in steps of at most :attr:`max_step`."""
        target = self.target()
        while (before := self._now()) < target:
            self._advance(min(target, before + self.max_step))
            if self._now() <= before:  # the world stopped (its drill ended): nothing more to pace
                break
            await anyio.sleep(0)
        if not self.paused and len(self.lags) < MAX_LAG_SAMPLES:
            self.lags.append(max(0.0, self.target() - self._now()))

    async def run(self) -> None:
        """Pace until the world reaches the end or :meth:`stop` is called."""
        while not self.stopped.is_set() and self._now() < self.end:
            await self.step()
            if self._now() >= self.end:
                break
            with anyio.move_on_after(self.tick):
                await self.stopped.wait()

    def stop(self) -> None:
        """End :meth:`run` at its next tick."""
        self.stopped.set()
