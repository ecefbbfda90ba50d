"""The GameDay's pacer: the virtual target follows a (fake) wall clock, pause, resume and
speed; and a paced GameDay gives byte for byte the events of an unpaced one that makes
the same operator actions at the same virtual times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from drills.executor.execute import DrillRun, run_drill
from drills.gameday.journal import OperatorJournal
from drills.gameday.pacer import Pacer
from drills.gameday.session import Session, load_gameday
from simulator.summary import Summary
from simulator.world import World


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_target_follows_the_wall_clock_at_the_speed() -> None:
    clock, world_time = FakeClock(), [0.0]
    pacer = Pacer(lambda to: world_time.__setitem__(0, to), lambda: world_time[0], 600.0, speed=60.0, clock=clock)
    clock.now += 2.0
    assert pacer.target() == 120.0
    world_time[0] = 120.0
    assert pacer.pause() is True and pacer.pause() is False
    clock.now += 5.0
    assert pacer.target() == 120.0  # paused: the virtual clock stands still
    assert pacer.resume() is True and pacer.resume() is False
    clock.now += 1.0
    assert pacer.target() == 180.0
    world_time[0] = 180.0
    pacer.set_speed(10.0)
    clock.now += 3.0
    assert pacer.target() == 210.0
    clock.now += 1000.0
    assert pacer.target() == 600.0  # never past the end


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan"), float("inf")])
def test_a_speed_must_be_positive_and_finite(speed: float) -> None:
    with pytest.raises(ValueError, match="speed must be a positive number"):
        Pacer(lambda to: None, lambda: 0.0, 10.0, speed=speed)


def test_a_step_advances_in_slices_of_at_most_the_max_step() -> None:
    clock, seen = FakeClock(), []
    pacer = Pacer(seen.append, lambda: seen[-1] if seen else 0.0, 100.0, speed=10.0, tick=0.5, clock=clock)
    clock.now += 2.0
    anyio.run(pacer.step)
    assert seen == [5.0, 10.0, 15.0, 20.0]
    assert pacer.lags == [0.0]


#: What the operators of the test do, once the world has reached each virtual time.
PLAN: list[tuple[float, str, dict[str, Any]]] = [
    (700.0, "inbox.patch", {"id": 1, "status": "acknowledged", "owner": "dana"}),
    (760.0, "inbox.patch", {"id": 1, "status": "acted", "nextAction": "bring finance back, then requeue"}),
    (780.0, "evidence.export", {"datasets": ["intents", "dead_letters"]}),
    (840.0, "fault.revert", {"fault": "finance offline"}),
    (900.0, "dead_letter.requeue", {}),
]


def _act(session: Session, action: str, arguments: dict[str, Any]) -> None:
    if action == "dead_letter.requeue":
        for row in session.world.exports.dead_letters(limit=500).rows:
            session.act("dana", "dead_letter.requeue", {"id": row["id"]})
        return
    session.act("dana", action, arguments)  # type: ignore[arg-type]


def _paced(journal: list[OperatorJournal]) -> Any:
    def drive(drill: DrillRun, world: World, end: float) -> Summary:
        session = Session(drill)

        async def main() -> None:
            # slices of at most 10 virtual s: each action enters within 10 s of its plan, before the drill checks it
            pacer = Pacer(session.advance_to, lambda: session.now, session.end, speed=1000.0, tick=0.01)
            session.pace = pacer
            plan = list(PLAN)

            async def operator() -> None:  # acts between the pacer's slices, as the API's handlers do
                while plan:
                    if session.now >= plan[0][0]:
                        _, action, arguments = plan.pop(0)
                        _act(session, action, arguments)
                    await anyio.sleep(0)

            with anyio.fail_after(60):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(operator)
                    while not session.over:
                        await pacer.step()
                        await anyio.sleep(0.005)
        anyio.run(main)
        journal.append(session.journal)
        drill.conclude()
        return drill.summary()
    return drive


def _replayed(journal: OperatorJournal) -> Any:
    def drive(drill: DrillRun, world: World, end: float) -> Summary:
        Session(drill).replay(journal)
        drill.conclude()
        return drill.summary()
    return drive


def test_a_paced_gameday_replays_byte_for_byte_unpaced(tmp_path: Path) -> None:
    loaded = load_gameday("fm3-dead-letter")
    journals: list[OperatorJournal] = []
    paced = run_drill(loaded, tmp_path / "paced", driver=_paced(journals))
    (journal,) = journals
    assert [entry.action for entry in journal.actions][:4] == ["inbox.patch", "inbox.patch", "evidence.export",
                                                              "fault.revert"]
    assert [entry.outcome.status for entry in journal.actions] == [200, 200, 200, 200] + [202] * 6
    # the pacer's steps land between the plan's times: the actions enter the world when it got there
    assert all(0 <= entry.virtual_time - planned < 10.0 + 1e-9
               for entry, planned in zip(journal.actions, [700.0, 760.0, 780.0, 840.0] + [900.0] * 6))
    replayed = run_drill(loaded, tmp_path / "replayed", driver=_replayed(journal))
    paced_events = (tmp_path / "paced" / "events.jsonl").read_bytes()
    assert paced_events == (tmp_path / "replayed" / "events.jsonl").read_bytes()
    assert b'"kind":"requeue"' in paced_events.replace(b" ", b"")
    assert paced.journal.model_dump() == replayed.journal.model_dump()
    assert paced.verdict == "completed"


def test_the_people_do_the_operator_steps_and_traffic_still_plays() -> None:
    assert load_gameday("fm3-dead-letter").drill.steps == []
    clean = load_gameday("clean-demo").drill
    assert [(step.action, step.name) for step in clean.steps] == [("partner_request", "a hosted beta request arrives")]
    assert clean.rollbacks == []


def test_a_scenario_runs_as_a_gameday_whose_only_expectation_is_nothing_lost(tmp_path: Path) -> None:
    loaded = load_gameday("scenarios/demo.yaml")
    assert (loaded.name, loaded.drill.title, loaded.drill.duration) == ("demo", "GameDay on demo", 120.0)
    outcome = run_drill(loaded, tmp_path / "demo", driver=_replayed(OperatorJournal(drill="demo", seed=0)))
    assert (outcome.verdict, outcome.journal.expectations_held, outcome.journal.expectations_total) == (
        "completed", 1, 1)


def test_the_score_names_what_made_things_worse(tmp_path: Path) -> None:
    from drills.gameday.score import score, write_score

    sessions: list[Session] = []

    def drive(drill: DrillRun, world: World, end: float) -> Summary:
        session = Session(drill)
        sessions.append(session)
        session.advance_to(700.0)
        for row in world.exports.dead_letters(limit=500).rows[:1]:  # requeue with finance still offline
            session.act("sam", "dead_letter.requeue", {"id": row["id"]})
        session.advance_to(end)
        drill.conclude()
        return drill.summary()

    outcome = run_drill(load_gameday("fm3-dead-letter"), tmp_path / "day", driver=drive)
    (session,) = sessions
    result = score(session, outcome.journal)
    assert result.verdict == "deviated" and result.time_to_mitigate is None
    assert [(a.key, a.seconds) for a in result.acknowledgements] == [("critical-alert:network-error-rate", None)]
    assert [w.why for w in result.made_worse] == [
        "broke the runbook rule: requeue before the root cause was fixed",
        "broke the runbook rule: requeue before an owner was recorded",
        "broke the runbook rule: requeue or prune before the evidence was exported",
        "the requeued message failed again: it ended queued"]
    assert write_score(tmp_path / "day", result, session.journal) == ["score.json", "score.md", "operator-journal.json"]
    assert "| critical-alert:network-error-rate | t=105s |  | never |  |" in (tmp_path / "day" / "score.md").read_text()
