"""The GameDay's operator journal: every action an operator or the facilitator took, with
the virtual time it entered the world, the wall time it was asked for, who asked, what,
with which arguments, and what the world answered. ``operator-journal.json`` is this
model, dumped; :meth:`Session.replay <drills.gameday.session.Session.replay>` plays it
back into a fresh world at the same virtual times."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

#: Every action the GameDay journals. Facilitator actions change the pace, not the world.
ActionName = Literal[
    "inbox.patch", "dead_letter.requeue", "prune", "acl.add", "acl.remove", "shield.update",
    "partner_request.create", "partner_request.patch", "evidence.export", "fault.revert", "fault.inject",
    "pace.pause", "pace.resume", "pace.speed", "gameday.finish",
]
#: The actions that enter the world (the rest only change the pace or end the run).
WORLD_ACTIONS: frozenset[str] = frozenset({
    "inbox.patch", "dead_letter.requeue", "prune", "acl.add", "acl.remove", "shield.update",
    "partner_request.create", "partner_request.patch", "evidence.export", "fault.revert", "fault.inject",
})


class Outcome(BaseModel):
    """What the world answered: the HTTP status and the body's error code, if any."""

    status: int
    error_code: str | None = None
    detail: Any = None


class OperatorAction(BaseModel):
    """One journalled action."""

    virtual_time: float
    wall_time: str
    actor: str
    action: ActionName
    arguments: dict[str, Any] = Field(default_factory=dict)
    outcome: Outcome
    broke: list[str] = Field(default_factory=list)


class OperatorJournal(BaseModel):
    """Every action of a GameDay, in the order they were taken."""

    drill: str
    seed: int
    actions: list[OperatorAction] = Field(default_factory=list)
