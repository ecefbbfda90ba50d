"""Stopping a run on SIGINT or SIGTERM at a consistent point of virtual time.

A signal only raises a flag; the run checks it between slices of virtual time (never in
the middle of an event), raises :class:`Interrupted` there, and the runner writes every
file up to the time reached. A second signal stops at once, the way Ctrl-C usually does.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from types import FrameType
from typing import Iterator

#: The signals a run stops on.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The user asked the run to stop. A ``BaseException``, like ``KeyboardInterrupt``, so
    that handlers of the run's own errors let it through."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(self.name)

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``SIGINT``."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by this signal: 128 + its number."""
        return 128 + self.signum


class StopRequest:
    """The flag a signal raises; :meth:`check` turns it into :class:`Interrupted`."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def check(self, _now: float | None = None) -> None:
        """Raise :class:`Interrupted` if a stop was asked for (usable as a progress callback)."""
        if self.signum is not None:
            raise Interrupted(self.signum)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Within the block, SIGINT and SIGTERM set the yielded flag (the second one raises
    :class:`Interrupted` at once); the previous handlers come back afterwards."""
    request = StopRequest()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if request.signum is not None:
            raise Interrupted(signum)
        request.signum = signum

    previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
    try:
        yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
