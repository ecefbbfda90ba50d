"""A world run to a number of intents, timed by slices of virtual time, with memory
checkpoints on the way."""

from __future__ import annotations

import gc
import resource
from pathlib import Path
from typing import Final, NamedTuple

from pydantic import BaseModel, ConfigDict

from drills.benchmark.rounds import Sample, cpu_seconds
from simulator.kernel.gctune import tuned_gc
from simulator.world import World

HOUR: Final[float] = 3600.0


class Checkpoint(BaseModel):
    """Memory of a world at one virtual time."""

    model_config = ConfigDict(frozen=True)

    hour: float
    finished: int
    rows_held: int
    live_objects: int
    rss_mib: float


class WorldRun(NamedTuple):
    """One timed world run: its sample (CPU seconds of the run, intents the directory
    admitted), how far it got in virtual time, the share of finished intents that failed,
    its checkpoints and any conservation problem at the end."""

    sample: Sample
    virtual_seconds: float
    failure_rate: float
    checkpoints: list[Checkpoint]
    conservation: list[str]


def rss_mib() -> float:
    """The process's resident memory now, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    """The process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_world(world: World, intents: int, step: float, checkpoints_every: float | None = None) -> WorldRun:
    """Run ``world`` in slices of ``step`` virtual seconds until its directory has admitted
    at least ``intents`` intents; only the slices are timed. With ``checkpoints_every``,
    record a :class:`Checkpoint` at each multiple of it (between slices, untimed)."""
    checkpoints: list[Checkpoint] = []
    seconds = 0.0
    with tuned_gc():
        while world.accepted("directory") < intents:
            started = cpu_seconds()
            world.env.run(until=world.env.now + step)
            seconds += cpu_seconds() - started
            if checkpoints_every and world.env.now % checkpoints_every == 0:
                buckets = world.summary().paths["directory"].buckets
                checkpoints.append(Checkpoint(hour=world.env.now / HOUR, finished=buckets["success"] + buckets["error"],
                                              rows_held=world.rows_held(), live_objects=len(gc.get_objects()),
                                              rss_mib=rss_mib()))
    summary = world.summary()
    buckets = summary.paths["directory"].buckets
    failure_rate = buckets["error"] / max(1, buckets["success"] + buckets["error"])
    return WorldRun(Sample(seconds, world.accepted("directory")), world.env.now, failure_rate, checkpoints,
                    summary.conservation)
