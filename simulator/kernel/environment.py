"""The world's SimPy environment: SimPy's own, with its event loop run by compiled code."""

from __future__ import annotations

from typing import Any

import simpy
from simpy.core import BoundClass, Infinity, SimTime
from simpy.events import NORMAL, EventPriority

from simulator.kernel import eventloop


class WorldEnvironment(simpy.Environment):
    """A :class:`simpy.Environment` whose events are processed by compiled code
    (:mod:`~simulator.kernel.eventloop`): :meth:`run` drains the queue in one call instead
    of calling :meth:`step` once per event, and ``step`` on its own still processes
    exactly one event; the order of events, the clock and every outcome are SimPy's.

    :attr:`now` is a plain attribute kept equal to SimPy's ``_now`` (SimPy's is a
    property), so the world's compiled code, which reads the clock about six times an
    intent, reads it without a Python call.
    """

    #: The current simulation time (set with ``_now`` wherever the clock moves).
    now: float = 0.0

    def __init__(self, initial_time: float = 0.0) -> None:
        super().__init__(initial_time)
        # SimPy binds its classes' constructors (``timeout``, ``process``, ...) to the
        # instance only for those its exact class defines; bind the base's here too.
        for name, attribute in vars(simpy.Environment).items():
            if isinstance(attribute, BoundClass):
                setattr(self, name, getattr(self, name))
        self._draining = False
        self.now = self._now
        self._entries = True  # the queue holds eventloop.Entry objects, not SimPy's tuples

    def schedule(self, event: simpy.Event, priority: EventPriority = NORMAL, delay: SimTime = 0) -> None:
        """SimPy's ``schedule``: ``event`` goes on the queue at ``now + delay``, as an
        :class:`~simulator.kernel.eventloop.Entry`."""
        eventloop.schedule(self, event, priority, delay)

    def peek(self) -> SimTime:
        """The time of the next event, or infinity when there is none."""
        queue: list[Any] = self._queue  # eventloop.Entry objects
        return queue[0].time if queue else Infinity

    def run(self, until: Any = None) -> Any:
        """SimPy's ``run``, its steps taken by the compiled loop."""
        self._draining = True
        try:
            return super().run(until)
        finally:
            self._draining = False

    def step(self) -> None:
        """One event, or, inside :meth:`run`, every event until the run stops."""
        if self._draining:
            eventloop.drain(self)
        else:
            eventloop.step(self)
