"""The operators' score: how the people played the GameDay against the runbook.

- the drill's expectations (held of total, and which did not hold);
- the runbook's order rules each action broke (:mod:`drills.executor.orderrules`);
- time to acknowledge each critical signal (its inbox item's creation to its ``acknowledgedAt``);
- time to mitigate (the first critical signal, or the first fault when none was raised,
  to the operator's revert that left no revertible fault active);
- the actions that made things worse: a broken order rule, a requeued message that failed
  again (at the end it is failed, dead-lettered or queued for another retry), an ACL
  entry removed in a world with FORBIDDEN failures, a critical item sent back to ``new``.
``score.json`` is :class:`Score`, dumped; ``score.md`` says the same for people.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from drills.executor.journal import Journal, Violation
from drills.gameday.journal import OperatorJournal
from drills.gameday.session import Session
from drills.runs.files import atomic_stream, write_json


class Acknowledgement(BaseModel):
    """One critical signal and how long it waited for an operator."""

    key: str
    raised_at: float
    acknowledged_at: float | None
    seconds: float | None
    owner: str | None


class Worse(BaseModel):
    """An action that made things worse, and why."""

    time: float
    actor: str
    action: str
    why: str


class Score(BaseModel):
    """The operators' score of one GameDay."""

    drill: str
    verdict: str
    virtual_duration: float
    expectations_held: int
    expectations_total: int
    expectations_missed: list[str] = Field(default_factory=list)
    violations: list[Violation] = Field(default_factory=list)
    acknowledgements: list[Acknowledgement] = Field(default_factory=list)
    time_to_mitigate: float | None = None
    made_worse: list[Worse] = Field(default_factory=list)
    actions: int = 0
    refused_actions: int = 0
    speed: float | None = None
    lag_p99: float | None = None


def _acknowledgements(session: Session) -> list[Acknowledgement]:
    found = []
    for item in session.world.inbox.items(source="critical_alert", limit=5000):
        acked = item.acknowledged_at
        found.append(Acknowledgement(key=item.source_key, raised_at=item.created_at, acknowledged_at=acked,
                                     seconds=None if acked is None else acked - item.created_at, owner=item.owner))
    return sorted(found, key=lambda ack: (ack.raised_at, ack.key))


def _mitigated(session: Session, acknowledgements: list[Acknowledgement]) -> float | None:
    if session.world.revertible_faults():
        return None
    reverts = [entry.virtual_time for entry in session.journal.actions
               if entry.action == "fault.revert" and 200 <= entry.outcome.status < 300]
    if not reverts:
        return None
    starts = [entry.time for entry in session.ctx.fault_log if entry.event == "fault_start"]
    signals = [ack.raised_at for ack in acknowledgements] or starts
    return max(reverts) - min(signals) if signals else None


def _worse(session: Session, journal: OperatorJournal) -> list[Worse]:
    world = session.world
    found: list[Worse] = []
    forbidden = any(world.error_count("FORBIDDEN", path) for path in ("directory", "bus"))
    for entry in journal.actions:
        done = 200 <= entry.outcome.status < 300

        def worse(why: str) -> None:
            found.append(Worse(time=entry.virtual_time, actor=entry.actor, action=entry.action, why=why))

        for rule in entry.broke:
            worse(f"broke the runbook rule: {rule}")
        if entry.action == "dead_letter.requeue" and done:
            message = world.bus.get_message(str(entry.arguments.get("id")))
            if message is not None and message.status in ("dead_letter", "failed", "queued"):
                worse(f"the requeued message failed again: it ended {message.status}")
        if entry.action == "acl.remove" and done and forbidden:
            worse("removed an ACL entry in a world with FORBIDDEN failures")
        if entry.action == "inbox.patch" and done and entry.arguments.get("status") == "new":
            worse("sent an inbox item back to new")
    return found


def score(session: Session, journal: Journal) -> Score:
    """Score the GameDay ``session`` whose drill journal is ``journal``."""
    acknowledgements = _acknowledgements(session)
    pace = session.pace
    return Score(drill=journal.drill, verdict=journal.status, virtual_duration=journal.virtual_duration,
                 expectations_held=journal.expectations_held, expectations_total=journal.expectations_total,
                 expectations_missed=[d.name for d in journal.deviations if d.phase == "method"],
                 violations=journal.violations, acknowledgements=acknowledgements,
                 time_to_mitigate=_mitigated(session, acknowledgements),
                 made_worse=_worse(session, session.journal), actions=len(session.journal.actions),
                 refused_actions=sum(1 for a in session.journal.actions if a.outcome.status >= 400),
                 speed=None if pace is None else pace.speed, lag_p99=None if pace is None else pace.lag_p99())


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:g} s"


def write_score(out: Path, result: Score, journal: OperatorJournal) -> list[str]:
    """Write ``score.json``, ``score.md`` and ``operator-journal.json`` into ``out``."""
    write_json(out / "score.json", result.model_dump(mode="json"))
    write_json(out / "operator-journal.json", journal.model_dump(mode="json"))
    lines = [f"# GameDay score: {result.drill}", "",
             f"- verdict: **{result.verdict}** after {result.virtual_duration:g} virtual seconds",
             f"- expectations held: {result.expectations_held} of {result.expectations_total}",
             f"- runbook order rules broken: {len(result.violations)}",
             f"- time to mitigate: {_seconds(result.time_to_mitigate)}",
             f"- actions: {result.actions} ({result.refused_actions} refused)", ""]
    if result.expectations_missed:
        lines += ["## Expectations that did not hold", ""] + [f"- {name}" for name in result.expectations_missed] + [""]
    lines += ["## Critical signals", "", "| signal | raised | acknowledged | time to acknowledge | owner |",
              "|---|---|---|---|---|"]
    lines += [f"| {a.key} | t={a.raised_at:g}s | {'' if a.acknowledged_at is None else f't={a.acknowledged_at:g}s'} "
              f"| {_seconds(a.seconds)} | {a.owner or ''} |" for a in result.acknowledgements] or ["| none | | | | |"]
    lines += ["", "## Runbook order rules broken", ""]
    lines += [f"- t={v.time:g}s {v.step}: {v.rule} ({v.detail})" for v in result.violations] or ["- none"]
    lines += ["", "## Actions that made things worse", ""]
    lines += [f"- t={w.time:g}s {w.actor} {w.action}: {w.why}" for w in result.made_worse] or ["- none"]
    with atomic_stream(out / "score.md") as stream:
        stream.write("\n".join(lines) + "\n")
    return ["score.json", "score.md", "operator-journal.json"]
