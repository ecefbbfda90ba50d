"""The compiled event loop: a :class:`WorldEnvironment` processes any program of events in
SimPy's own order, and a wakeup falls where ``env.timeout`` would."""

from __future__ import annotations

from typing import Any, Callable, Generator

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.kernel.environment import WorldEnvironment
from simulator.kernel.eventloop import Entry, Scheduler, Wakeup

#: One step of a program: (delay from a few values, so that times tie; whether the
#: callback schedules a follow-up; whether it is a process rather than a callback).
Step = tuple[float, bool, bool]
steps = st.lists(st.tuples(st.sampled_from([0.0, 0.5, 1.0, 2.5]), st.booleans(), st.booleans()), max_size=25)


def play(env: simpy.Environment, program: list[Step], wakeups: bool, stops: list[float]) -> list[tuple[Any, ...]]:
    """Run ``program`` on ``env`` in slices ending at ``stops``; the trace of what ran when."""
    trace: list[tuple[Any, ...]] = []
    scheduler = Scheduler(env)

    def later(delay: float, callback: Callable[[Any], None]) -> None:
        if wakeups:
            scheduler.wake_after(delay, callback)
        else:
            env.timeout(delay).callbacks.append(callback)

    def callback_for(label: int, delay: float, again: bool) -> Callable[[Any], None]:
        def fired(_event: Any) -> None:
            trace.append(("callback", label, env.now))
            if again:
                later(delay, callback_for(-label - 1, delay, False))
        return fired

    def process(label: int, delay: float) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(delay)
        trace.append(("process", label, env.now))
        value = yield env.timeout(delay, value=label)
        trace.append(("process", label, env.now, value))

    for label, (delay, again, is_process) in enumerate(program):
        if is_process:
            env.process(process(label, delay))
        else:
            later(delay, callback_for(label, delay, again))
    for stop in stops:
        if stop > env.now:
            env.run(until=stop)
            trace.append(("stopped", env.now))
    env.run()
    trace.append(("empty", env.now))
    return trace


@settings(max_examples=200, deadline=None)
@given(program=steps, stops=st.lists(st.sampled_from([0.5, 1.0, 1.5, 3.0, 6.0]), max_size=3).map(sorted))
def test_world_environment_runs_simpys_order(program: list[Step], stops: list[float]) -> None:
    expected = play(simpy.Environment(), program, wakeups=False, stops=stops)
    assert play(WorldEnvironment(), program, wakeups=False, stops=stops) == expected
    assert play(WorldEnvironment(), program, wakeups=True, stops=stops) == expected
    assert play(simpy.Environment(), program, wakeups=True, stops=stops) == expected  # SimPy's own step


#: Times as SimPy may hold them: equal and near-equal floats, zeros of both signs, ints,
#: and ints beyond 2**53 whose floats are equal.
entry_times = st.one_of(st.sampled_from([0, 0.0, -0.0, 1, 1.0, 2.5, 2**53, 2**53 + 1, float(2**53)]),
                        st.floats(0, 1e6, allow_nan=False), st.integers(0, 2**60))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(entry_times, st.sampled_from([-1, 0, 1])), max_size=30))
def test_entries_order_as_simpys_tuples(keys: list[tuple[Any, int]]) -> None:
    tuples = [(time, priority, eid, f"event {eid}") for eid, (time, priority) in enumerate(keys)]
    entries = [Entry(*fields) for fields in tuples]
    by_entry = [(entry.time, entry.priority, entry.eid, entry.event) for entry in sorted(entries)]
    assert by_entry == sorted(tuples)
    assert all(type(entry.time) is type(fields[0]) for entry, fields in zip(entries, tuples))


def test_a_world_queue_holds_entries_and_peeks_their_time() -> None:
    env = WorldEnvironment(0)  # an int clock stays an int, as in SimPy
    env.timeout(2)
    Scheduler(env).wake_after(1.5, lambda _event: None)
    assert all(isinstance(entry, Entry) for entry in env._queue)
    assert env.peek() == 1.5
    env.step()
    assert env.peek() == 2 and type(env.peek()) is int
    env.step()
    assert env.now == 2 and type(env.now) is int


def test_step_alone_takes_one_event() -> None:
    env = WorldEnvironment()
    fired: list[float] = []
    for delay in (1.0, 2.0):
        Scheduler(env).wake_after(delay, lambda _event: fired.append(env.now))
    env.step()
    assert (fired, env.now, env.peek()) == ([1.0], 1.0, 2.0)


def test_wakeup_reads_like_a_timeout() -> None:
    env = WorldEnvironment()
    seen: list[Any] = []
    scheduler = Scheduler(env)
    wakeup = scheduler.wake_after(1.0, seen.append, value=("row", 7))
    assert isinstance(wakeup, Wakeup) and wakeup.triggered and not wakeup.processed
    assert wakeup.callbacks == [seen.append]
    with pytest.raises(ValueError, match="exactly one callback"):
        wakeup.callbacks = [seen.append, seen.append]
    env.run()
    assert seen == [wakeup] and wakeup.value == ("row", 7) and wakeup.ok and wakeup.processed
    assert wakeup.callbacks is None
    with pytest.raises(ValueError, match="Negative delay -1"):
        scheduler.wake_after(-1, seen.append)


def test_run_until_an_event_keeps_its_later_callbacks() -> None:
    """As in SimPy: the callbacks after the one that stops the run run when it resumes."""
    env = WorldEnvironment()
    calls: list[str] = []
    done = env.timeout(1.0, value="done")
    done.callbacks.append(lambda _event: calls.append("first"))
    assert env.run(until=done) == "done"
    done.callbacks.append(lambda _event: calls.append("second"))
    env.run()
    assert calls == ["first", "second"]


def test_an_unhandled_failure_crashes_the_run_as_in_simpy() -> None:
    env = WorldEnvironment()

    def broken() -> Generator[simpy.Event, Any, None]:
        yield env.timeout(1.0)
        raise KeyError("lost row")

    env.process(broken())
    with pytest.raises(KeyError, match="lost row") as crash:
        env.run()
    assert isinstance(crash.value.__cause__, KeyError)
    assert env.now == 1.0


def test_world_environment_binds_simpys_constructors() -> None:
    env = WorldEnvironment()
    assert "timeout" in vars(env) and "process" in vars(env)
    assert isinstance(env.timeout(1), simpy.Timeout)
