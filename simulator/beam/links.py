"""Link faults in Toxiproxy's vocabulary: latency ± jitter, timeout (black hole), reset and
loss, each applied to a message with probability ``toxicity``.

Links are named by their two ends: ``bus->directory`` for the bus's delivery calls and
``directory->AGENT_ID`` for the directory's WebSocket frames to an agent.
"""

from __future__ import annotations

import random
from typing import Literal, NamedTuple

ToxicKind = Literal["latency", "timeout", "reset", "loss"]


class Toxic(NamedTuple):
    """One toxic on a link."""

    kind: ToxicKind
    latency: float = 0.0
    jitter: float = 0.0
    timeout: float = 0.0
    toxicity: float = 1.0


class Effect(NamedTuple):
    """What happens to one message: extra delay, and whether it is dropped or reset.

    A dropped message never arrives; with ``closes_after`` the connection is then closed
    after that many seconds (Toxiproxy's timeout toxic with a timeout), else it hangs.
    """

    delay: float = 0.0
    dropped: bool = False
    reset: bool = False
    closes_after: float | None = None


CLEAN = Effect()


class Links:
    """The toxics active on each link, and the draws that decide which ones hit a message."""

    def __init__(self, stream: random.Random) -> None:
        self._stream = stream
        self._toxics: dict[str, list[Toxic]] = {}
        self.active = False

    def add(self, link: str, toxic: Toxic) -> None:
        """Start applying ``toxic`` on ``link``."""
        self._toxics.setdefault(link, []).append(toxic)
        self.active = True

    def remove(self, link: str, toxic: Toxic) -> None:
        """Stop applying ``toxic`` on ``link``."""
        toxics = self._toxics.get(link, [])
        if toxic in toxics:
            toxics.remove(toxic)
        if not toxics:
            self._toxics.pop(link, None)
        self.active = bool(self._toxics)

    def effect(self, link: str) -> Effect:
        """Draw the effect of the link's toxics on one message."""
        toxics = self._toxics.get(link)
        if not toxics:
            return CLEAN
        delay, dropped, reset, closes_after = 0.0, False, False, None
        for toxic in toxics:
            if self._stream.random() >= toxic.toxicity:
                continue
            if toxic.kind == "latency":
                delay += max(0.0, toxic.latency + self._stream.uniform(-toxic.jitter, toxic.jitter))
            elif toxic.kind == "reset":
                reset = True
            else:
                dropped = True
                if toxic.kind == "timeout" and toxic.timeout > 0:
                    closes_after = toxic.timeout
        return Effect(delay, dropped, reset, closes_after)
