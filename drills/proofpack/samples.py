"""What the proof-pack chart reads from the world at one virtual time: lifecycle counts per
path, the alerts firing, the directory's errors by code and Shield's decisions."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.world import World

#: The states drawn per path: in flight is every state that is not terminal.
DRAWN: dict[str, tuple[str, ...]] = {
    "directory": ("in_flight", "acked", "failed"),
    "bus": ("queued", "in_flight", "delivered", "acked", "dead_letter"),
}
TERMINAL = ("acked", "failed", "dead_letter")


@dataclass(frozen=True)
class Sample:
    """The world at one virtual time: lifecycle counts per path, alert id → severity of the
    alerts firing, and, counted since the start, the directory's failures and refusals by
    error code and Shield's decisions by decision."""

    time: float
    directory: dict[str, int]
    bus: dict[str, int]
    alerts: dict[str, str] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    shield: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, world: World) -> Sample:
        """The world's sample now."""
        return cls(time=world.now, directory=world.state_counts("directory"), bus=world.state_counts("bus"),
                   alerts=world.alerts.firing(), errors=world.directory_errors(), shield=world.shield_decisions())

    def drawn(self, path: str, state: str) -> int:
        """The count drawn for ``state`` on ``path``; ``in_flight`` sums the states not
        drawn on their own (the bus's queued and delivered are drawn apart)."""
        counts = self.directory if path == "directory" else self.bus
        if state != "in_flight":
            return counts.get(state, 0)
        return sum(n for name, n in counts.items() if name not in TERMINAL and name not in DRAWN[path])
