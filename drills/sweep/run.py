"""Running a sweep: the runs not already checkpointed go to the executor, each record is
checkpointed the moment it arrives, and the output files are written from the records at
the end (or at an interrupt, with what is done)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from drills.runs.interrupt import Interrupted, StopRequest
from drills.sweep.checkpoint import Checkpoints
from drills.sweep.executors import Executor
from drills.sweep.grid import Plan
from drills.sweep.report import write_outputs
from drills.sweep.stats import Records

#: Told each record as it arrives (for a progress bar).
OnRecord = Callable[[dict[str, Any]], None]


@dataclass
class SweepOutcome:
    """How a sweep went: the records, how many ran now and were reused, the summary document."""

    records: Records
    ran: int
    reused: int
    summary: dict[str, Any]
    interrupted: Interrupted | None = None

    @property
    def failed(self) -> int:
        """Runs whose record says they failed."""
        return sum(record["status"] != "ok" for record in self.records.values())


def run_sweep(plan: Plan, executor: Executor, out: Path, resume: bool, stop: StopRequest | None = None,
              on_start: Callable[[int, int], None] | None = None, on_record: OnRecord | None = None) -> SweepOutcome:
    """Run ``plan``'s missing runs on ``executor`` into ``out``.

    Without ``resume`` the checkpoints of an earlier sweep in ``out`` are dropped first.
    ``on_start`` is told (runs to do, runs reused). A stop (SIGINT/SIGTERM) abandons the
    runs in flight, writes the files from what is done and reports the interrupt.
    """
    checkpoints = Checkpoints(out)
    if not resume:
        checkpoints.clear()
    records: Records = {}
    todo = []
    for job in plan.jobs():
        kept = checkpoints.load(job) if resume else None
        if kept is None:
            todo.append(job)
        else:
            records[(job.cell, job.replication)] = kept
    reused = len(records)
    if on_start is not None:
        on_start(len(todo), reused)
    interrupted: Interrupted | None = None
    try:
        for record in executor.run(todo, stop.check if stop is not None else lambda: None):
            checkpoints.save(record)
            records[(record["cell"], record["replication"])] = record
            if on_record is not None:
                on_record(record)
    except Interrupted as signal:
        interrupted = signal
    except KeyboardInterrupt:
        interrupted = Interrupted(2)
    finally:
        executor.stop()
    summary = write_outputs(plan, records, out, interrupted is not None)
    return SweepOutcome(records, len(records) - reused, reused, summary, interrupted)
