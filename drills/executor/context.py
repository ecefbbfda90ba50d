"""What a running drill knows besides the world: the nonces its steps sent, the evidence
exported, every event per nonce (for trace checks), Beam's retry delays as scheduled, and
which operator steps ran when (for the runbook order rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drills.drillfile.loader import LoadedDrill
from drills.drillfile.probes import NonceTarget
from drills.proofpack.faultlog import FaultEntry
from simulator.kernel.events import Event
from simulator.world import World


@dataclass
class Evidence:
    """One export an operator step took, held until the run writes it."""

    time: float
    dataset: str
    filename: str
    text: str


@dataclass
class DrillContext:
    """The world under drill and the drill's own record of it."""

    loaded: LoadedDrill
    world: World
    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fault_log: list[FaultEntry] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    performed: list[tuple[float, str]] = field(default_factory=list)
    #: What ``capture`` steps captured, by label (the backup/restore drill's before and after).
    captures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __call__(self, event: Event) -> None:
        """The event sink: keep each nonce's events and every fault start and end."""
        if event.nonce is not None:
            self.events.setdefault(event.nonce, []).append(event.to_json())
        elif event.kind in ("fault_start", "fault_end"):
            index = event.data["fault"]
            self.fault_log.append(FaultEntry.of(event.time, event.kind, index, self.world.scenario.faults[index]))

    def nonce(self, target: NonceTarget) -> str | None:
        """The nonce a probe targets; None while its workflow step has not produced one."""
        if target.nonce is not None:
            return target.nonce
        runs = list(self.world.traffic.quote_runs.values())
        if target.run >= len(runs):
            return None
        run = runs[target.run]
        return {"quote": run.quote_nonce, "inventory": run.inventory_nonce, "preflight": run.preflight_nonce}[
            target.step or "quote"]

    def done(self, action: str) -> bool:
        """Whether an operator step of ``action`` has run."""
        return any(kind == action for _, kind in self.performed)
