"""``summary.json``: what a ``beamdrill drill run`` concluded, one record per drill it ran
(in order, the interrupted one last), and the drills it did not get to."""

from __future__ import annotations

from pydantic import BaseModel

from drills.executor.execute import DrillOutcome
from drills.executor.journal import Verdict


class DrillVerdict(BaseModel):
    """One drill's verdict, how many expectations held, and where its proof pack is."""

    drill: str
    verdict: Verdict
    expectations_held: int
    expectations_total: int
    virtual_seconds: float
    report: str

    @classmethod
    def of(cls, outcome: DrillOutcome) -> DrillVerdict:
        """The record of one drill run; ``report`` is relative to the result directory."""
        journal = outcome.journal
        return cls(drill=journal.drill, verdict=journal.status, expectations_held=journal.expectations_held,
                   expectations_total=journal.expectations_total, virtual_seconds=journal.virtual_duration,
                   report=f"{journal.drill}/report.md")


class DrillRunSummary(BaseModel):
    """summary.json: the drills run and the names of those not run (after an interruption)."""

    drills: list[DrillVerdict]
    not_run: list[str]

    @classmethod
    def of(cls, outcomes: list[DrillOutcome], not_run: list[str]) -> DrillRunSummary:
        """The summary of a ``drill run``."""
        return cls(drills=[DrillVerdict.of(outcome) for outcome in outcomes], not_run=not_run)
