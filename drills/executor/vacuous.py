"""Expectations that prove nothing: one that already holds at its first check, when that
check comes at or before the drill's first fault or operator step, held before anything
the drill did could act (fm3's "no dead letters left" once held at t=0 s, a minute before
the first dead letter). The drill still runs and its verdict is unchanged; the journal,
the report and ``beamdrill drill run`` carry a :class:`~drills.executor.journal.ExpectationWarning`.

Whether an expectation holds at its first check depends on the world, so this is decided
while the drill runs, not by ``beamdrill drill check``. A drill without faults or steps
(the clean demo) has no "before": its expectations are about the scenario's own traffic.
"""

from __future__ import annotations

from drills.drillfile.loader import LoadedDrill
from drills.executor.journal import ExpectationWarning


def first_action(loaded: LoadedDrill) -> float | None:
    """When the drill first acts on the world: its earliest fault (the scenario's own
    included) or operator step; None when it has neither."""
    times = [fault.at for fault in loaded.scenario.faults]
    times += [step.at for step in loaded.drill.steps if step.at is not None]
    return min(times, default=None)


def held_too_early(name: str, checked: float, first: float | None) -> ExpectationWarning | None:
    """The warning for expectation ``name`` that held at its first check at ``checked``,
    if that check came at or before ``first`` (the drill's first fault or step)."""
    if first is None or checked > first:
        return None
    message = (f"expectation {name!r} held at its first check (t={checked:g}s), at or before the drill's first "
               f"fault or step (t={first:g}s), so it proves nothing about them; give it an after: past the "
               "step it is about")
    return ExpectationWarning(expectation=name, checked=checked, first_action=first, message=message)
