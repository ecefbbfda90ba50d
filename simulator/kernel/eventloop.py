"""SimPy's event loop and its plainest timeout, compiled.

:func:`step` is :meth:`simpy.Environment.step`, line for line: it pops the queue's next
entry (time, priority, id, event), sets the clock and calls the event's callbacks;
:func:`drain` steps until a callback stops the simulation or the queue runs dry (SimPy's
own exceptions end it, and SimPy's ``run`` catches them). :meth:`Scheduler.wake_after`
schedules a :class:`Wakeup` exactly where ``env.timeout(delay, value)`` would put its
``Timeout`` (same time, priority and id from the environment's counter), so replacing one
with the other changes no event's order. Both read the environment's ``_queue``, ``_now``
and ``_eid``, the attributes SimPy's ``step`` and ``schedule`` use.

On a :class:`~simulator.kernel.environment.WorldEnvironment` the queue holds
:class:`Entry` objects instead of SimPy's tuples (its ``schedule`` makes them): ordered
exactly as those tuples, but compared by compiled code on the time as a C double, each in
one object, where a tuple comparison calls two Python comparisons and reads a separate
float object, on every level of the heap.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any, Callable, Final, Iterator

from simpy.core import EmptySchedule, StopSimulation

NORMAL: Final = 1  # simpy.events.NORMAL: a timeout's priority


class Wakeup:
    """A timeout that only calls back: triggered when made and processed at its time like a
    :class:`simpy.Timeout`, but with the one callback it was made with (no list to append
    to) and not an event a process can yield. SimPy's own ``step`` reads and sets it
    through :attr:`callbacks`."""

    def __init__(self, env: Any, value: Any, callback: Callable[[Any], Any]) -> None:
        self.env = env
        self.callback: Callable[[Any], Any] | None = callback
        self.done = False
        self._ok = True
        self._value = value

    @property
    def callbacks(self) -> list[Callable[[Any], Any]] | None:
        """SimPy's view of the callback: a list while pending, None once processed."""
        if self.done:
            return None
        return [] if self.callback is None else [self.callback]

    @callbacks.setter
    def callbacks(self, callbacks: list[Callable[[Any], Any]] | None) -> None:
        if callbacks is None:
            self.done = True
        elif len(callbacks) > 1:
            raise ValueError("a wakeup has exactly one callback, given when it is scheduled")
        else:
            self.done = False
            self.callback = callbacks[0] if callbacks else None

    @property
    def value(self) -> Any:
        """The value given when it was scheduled."""
        return self._value

    @property
    def ok(self) -> bool:
        """Always true: a wakeup cannot fail."""
        return self._ok

    @property
    def triggered(self) -> bool:
        """Always true, as for a timeout."""
        return True

    @property
    def processed(self) -> bool:
        """Whether its callback has been called."""
        return self.done


class Entry:
    """One scheduled event on a world's queue: SimPy's ``(time, priority, id, event)``,
    ordered as that tuple is (time, then priority, then id). ``time`` is kept as given (an
    ``int`` stays one) and also as a C double, ``key``, which decides unless two keys are
    equal."""

    __slots__ = ("key", "time", "priority", "eid", "event")

    def __init__(self, time: Any, priority: int, eid: int, event: Any) -> None:
        self.key: float = time
        self.time = time
        self.priority = priority
        self.eid = eid
        self.event = event

    def __lt__(self, other: Entry) -> bool:
        if self.key != other.key:
            return self.key < other.key
        if self.time != other.time:  # only ints beyond 2**53 (or their floats) get here
            return bool(self.time < other.time)
        if self.priority != other.priority:
            return self.priority < other.priority
        return self.eid < other.eid


def schedule(env: Any, event: Any, priority: int, delay: Any) -> None:
    """:meth:`simpy.Environment.schedule` for a world: an :class:`Entry` on its queue."""
    heappush(env._queue, Entry(env._now + delay, priority, next(env._eid), event))


class Scheduler:
    """Schedules :class:`Wakeup` objects on one environment: holds its queue and id counter,
    which SimPy never replaces, and reads its clock at each call."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.queue: list[Any] = env._queue
        self.ids: Iterator[int] = env._eid
        #: Whether the queue holds :class:`Entry` objects (a world's) or SimPy's tuples.
        self.entries: bool = getattr(env, "_entries", False)

    def wake_after(self, delay: Any, callback: Callable[[Any], Any], value: Any = None) -> Wakeup:
        """Call ``callback(wakeup)`` ``delay`` virtual seconds from now, ordered as
        ``env.timeout(delay, value)`` made now would be."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        wakeup = Wakeup(self.env, value, callback)
        at, eid = self.env._now + delay, next(self.ids)
        heappush(self.queue, Entry(at, NORMAL, eid, wakeup) if self.entries else (at, NORMAL, eid, wakeup))
        return wakeup


def step(env: Any) -> None:
    """Process ``env``'s next event: :meth:`simpy.Environment.step`, line for line, that
    also sets ``now`` (``env`` is a :class:`~simulator.kernel.environment.WorldEnvironment`)."""
    queue: list[Any] = env._queue
    if not queue:
        raise EmptySchedule()
    entry: Entry = heappop(queue)
    event = entry.event
    env._now = env.now = entry.time
    if isinstance(event, Wakeup):
        callback = event.callback
        event.callback, event.done = None, True
        if callback is not None:
            try:
                callback(event)
            except StopSimulation:
                event.done = False  # as SimPy's step: processed again, with nothing left to call
                env.schedule(event, -1)
                raise
        return
    callbacks = event.callbacks
    event.callbacks = None
    try:
        for callback in callbacks:
            callback(event)
    except StopSimulation:
        # As SimPy's step: the callbacks after the one that stopped run when it resumes.
        event.callbacks = callbacks[callbacks.index(callback) + 1:]
        env.schedule(event, -1)
        raise
    if not event._ok and not hasattr(event, "_defused"):
        failure = event._value
        crash = type(failure)(*failure.args)
        crash.__cause__ = failure
        raise crash


def drain(env: Any) -> None:
    """:func:`step` until SimPy's :class:`StopSimulation` or :class:`EmptySchedule` ends
    it (what ``while True: env.step()`` does, without a Python call per event)."""
    while True:
        step(env)
