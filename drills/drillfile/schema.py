"""Drill files: the pydantic schema of a fire drill.

A drill names the runbook failure mode it rehearses, the scenario it runs on (a path,
plus optional overrides), the faults it injects, the operator steps it plays at virtual
times, the expectations it checks at times or by deadlines, the steady state that must
hold before the method and after the rollbacks, and the guards that abort it. Probes
(:mod:`drills.drillfile.probes`), steps (:mod:`drills.drillfile.steps`) and faults are
tagged unions (``probe:``, ``action:``, ``kind:``), so every problem in a file is
reported with its field path (:mod:`drills.drillfile.loader`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from drills.drillfile.probes import Probe
from drills.drillfile.steps import Step
from simulator.kernel.fields import Count, Model, NonEmpty
from simulator.kernel.units import Duration, PositiveDuration
from simulator.scenario.faults import FaultSpec
from simulator.scenario.model import MAX_SEED

#: What a drill rehearses: the runbook's five failure modes (§9.5), the clean demo, and
#: the production, restart-recovery and backup/restore drills of §12 (``restore-rpo``: a
#: restore from a backup older than the disaster, measured against RTO and RPO targets).
Rehearses = Literal["clean-demo", "stuck-delivered", "queued-retries", "dead-letter", "forbidden-acl",
                    "rate-limit-shield", "fire-drill", "restart-recovery", "backup-restore", "restore-rpo"]


class SteadyState(Model):
    """Probes that must hold before the method starts and after the rollbacks."""

    before: list[Probe] = Field(default_factory=list)
    after: list[Probe] = Field(default_factory=list)


class Drill(Model):
    """One fire drill: the world, the method (faults and operator steps), the checks."""

    title: NonEmpty
    rehearses: Rehearses
    description: str = ""
    scenario: NonEmpty
    overrides: dict[str, Any] = Field(default_factory=dict)
    seed: Annotated[Count, Field(ge=0, le=MAX_SEED)] | None = None
    duration: PositiveDuration
    settle: Duration = 0.0
    steady_state: SteadyState = SteadyState()
    faults: list[FaultSpec] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    expectations: Annotated[list[Probe], Field(min_length=1)]
    guards: list[Probe] = Field(default_factory=list)
    guard_interval: Duration = 5.0
    rollbacks: list[Step] = Field(default_factory=list)
