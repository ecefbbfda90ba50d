"""Interleaved rounds: every job of every case runs once per round, in the same order, so
the machine's load at any moment weighs on all of them alike.

Jobs time themselves with :func:`cpu_seconds`, the process's CPU time, which other jobs
on a shared machine disturb far less than wall time; what a job times is its own business
(building a world is left out of a run's time, loading a file is the whole of its time).
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Callable, NamedTuple, Protocol, Sequence

if TYPE_CHECKING:
    from drills.benchmark.table import Row


class Sample(NamedTuple):
    """One timed job: CPU seconds and the units of work done (intents; 1 for a load)."""

    seconds: float
    units: int

    @property
    def cost(self) -> float:
        """Seconds per unit of work."""
        return self.seconds / self.units


#: A named job: called once per round, returns what it measured.
Job = tuple[str, Callable[[], Sample]]
#: Told each job's sample as it is taken: (round number from 1, job name, sample).
Progress = Callable[[int, str, Sample], None]


class Case(Protocol):
    """A bench case: the jobs it adds to every round, and the table rows it makes of their samples."""

    def jobs(self) -> list[Job]:
        """The case's jobs, in the order a round runs them."""
        ...

    def rows(self, samples: dict[str, list[Sample]]) -> list[Row]:
        """The case's rows, from every job's samples."""
        ...


def cpu_seconds() -> float:
    """The process's CPU time in seconds (the bench's clock)."""
    return time.process_time()


def run_rounds(jobs: Sequence[Job], rounds: int, progress: Progress | None = None) -> dict[str, list[Sample]]:
    """Run every job once per round, in order, ``rounds`` times; return each job's samples.

    The cyclic garbage collector runs before each job (untimed), so no job pays for the
    garbage the one before it left.
    """
    names = [name for name, _ in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique, found {names}")
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for number in range(1, rounds + 1):
        for name, job in jobs:
            gc.collect()
            sample = job()
            samples[name].append(sample)
            if progress is not None:
                progress(number, name, sample)
    return samples
