"""The records ``beamdrill drill list`` and ``beamdrill scenario list`` show, one per built-in
drill or scenario: the table's rows for people, and the document ``--json`` prints."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from drills.drillfile.loader import LoadedDrill
from drills.runs.files import shown_path
from simulator import Scenario


class DrillListing(BaseModel):
    """One drill: its name (the file's stem), file, what it rehearses, its title and how
    many expectations it checks."""

    drill: str
    file: str
    rehearses: str
    title: str
    expectations: int

    @classmethod
    def of(cls, loaded: LoadedDrill) -> DrillListing:
        """The listing of a loaded drill."""
        drill = loaded.drill
        return cls(drill=loaded.name, file=shown_path(loaded.path), rehearses=drill.rehearses, title=drill.title,
                   expectations=len(drill.expectations))


class DrillList(BaseModel):
    """``beamdrill drill list --json``: the built-in drills, in the order ``--all`` runs them."""

    drills: list[DrillListing]


class ScenarioListing(BaseModel):
    """One scenario: its name, file, description, how many agents it has, its duration in
    virtual seconds and how many faults it schedules."""

    name: str
    file: str
    description: str
    agents: int
    duration: float
    faults: int

    @classmethod
    def of(cls, scenario: Scenario, file: Path) -> ScenarioListing:
        """The listing of a loaded scenario read from ``file``."""
        return cls(name=scenario.name, file=shown_path(file), description=scenario.description,
                   agents=len(scenario.agents), duration=scenario.duration, faults=len(scenario.faults))


class ScenarioList(BaseModel):
    """``beamdrill scenario list --json``: the built-in scenarios, by file name."""

    scenarios: list[ScenarioListing]
