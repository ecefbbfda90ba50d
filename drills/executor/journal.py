"""The drill journal (Chaos Toolkit's vocabulary): every activity with its virtual start
and end, status, output and whether its tolerance was met, plus the deviations, the
runbook violations, the warnings and the verdict. ``journal.json`` is this model, dumped."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Verdict = Literal["completed", "deviated", "failed", "aborted", "interrupted"]
Phase = Literal["steady-state-before", "method", "steady-state-after", "guard", "rollback"]
#: What each verdict means, for reports and ``--help``.
VERDICTS: dict[str, str] = {
    "completed": "every expectation held and no runbook rule was broken",
    "deviated": "an expectation or steady-state probe did not hold, or a runbook rule was broken",
    "failed": "the drill itself could not run (the world broke, or the steady state did not hold before the method)",
    "aborted": "a guard (stop condition) failed and the drill stopped early",
    "interrupted": "SIGINT or SIGTERM stopped the drill; its files hold what happened until then",
}


class Activity(BaseModel):
    """One probe, fault or operator step as it ran."""

    name: str
    type: Literal["probe", "action", "fault"]
    kind: str
    phase: Phase
    start: float
    end: float
    status: Literal["succeeded", "failed"]
    output: Any = None
    tolerance: str | None = None
    tolerance_met: bool | None = None


class Deviation(BaseModel):
    """An expectation that did not hold: what was expected, what was seen, and when."""

    name: str
    expected: str
    observed: Any
    time: float
    phase: Phase


class ExpectationWarning(BaseModel):
    """An expectation that held at its first check, and that check came at or before the
    drill's first fault or operator step: it held before the drill did anything, so it
    proves nothing about what the drill did (:mod:`drills.executor.vacuous`)."""

    kind: Literal["held-before-the-method"] = "held-before-the-method"
    expectation: str
    checked: float
    first_action: float
    message: str


class Violation(BaseModel):
    """An operator step that broke a runbook order rule."""

    rule: str
    step: str
    time: float
    detail: str


def _no_steady_states() -> dict[str, list[Activity]]:
    return {"before": [], "after": []}


class Journal(BaseModel):
    """Everything a drill run did and concluded; deterministic for a seed."""

    drill: str
    title: str
    rehearses: str
    file: str
    seed: int
    scenario_file: str
    scenario_digest: str
    status: Verdict
    reason: str | None = None
    virtual_duration: float
    expectations_held: int
    expectations_total: int
    steady_states: dict[str, list[Activity]] = Field(default_factory=_no_steady_states)
    run: list[Activity] = Field(default_factory=list)
    rollbacks: list[Activity] = Field(default_factory=list)
    deviations: list[Deviation] = Field(default_factory=list)
    violations: list[Violation] = Field(default_factory=list)
    warnings: list[ExpectationWarning] = Field(default_factory=list)
    affected_nonces: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
