"""One run of one cell: a resolved scenario (and rollout), a seed → the run's measures.

:func:`run_cell` is the only function any executor runs (in this process, in a process
pool's workers, on Dask workers): it takes plain data and returns plain JSON-ready data,
so the record of a run is the same bytes wherever it ran. A run that raises is returned
as a failed record with its error, never raised: one bad cell does not stop a sweep.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from drills.sweep.measures import MeasureSink
from simulator import World, parse_scenario


@dataclass(frozen=True)
class CellJob:
    """What one run needs: the cell and replication it is, its seed, the cell's fully
    resolved scenario (JSON form), the recovery rule, the key that identifies it, and for a
    rollout sweep the cell's fully resolved rollout (JSON form; its scenario is ``scenario``)."""

    cell: int
    replication: int
    seed: int
    scenario: dict[str, Any]
    window: float
    tolerance: float
    key: str
    rollout: dict[str, Any] | None = None


def job_key(scenario: dict[str, Any], seed: int, window: float, tolerance: float,
            rollout: dict[str, Any] | None = None) -> str:
    """SHA-256 of everything a run's result depends on: a checkpoint is reused only for the same key."""
    parts: dict[str, Any] = {"scenario": scenario, "seed": seed, "window": window, "tolerance": tolerance}
    if rollout is not None:
        parts["rollout"] = rollout
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def failed_record(job: CellJob, error: BaseException) -> dict[str, Any]:
    """The record of a run that raised ``error`` (in the world, or in the executor)."""
    from drills.runs.runner import describe_error  # only a failure needs the runner's imports

    return {"cell": job.cell, "replication": job.replication, "seed": job.seed, "key": job.key,
            "status": "failed", "error": describe_error(error), "measures": None}


def run_cell(job: CellJob) -> dict[str, Any]:
    """Run ``job``'s world to its duration and return its record: ``cell``,
    ``replication``, ``seed``, ``key``, ``status`` (``ok`` or ``failed``), ``error`` and
    ``measures`` (None when the run failed). A rollout job runs the rollout
    (:func:`drills.sweep.rollouts.run_rollout`)."""
    if job.rollout is not None:
        from drills.sweep.rollouts import run_rollout  # the canary judge brings in SciPy: only rollouts need it

        return run_rollout(job)
    try:
        scenario = parse_scenario(job.scenario, f"cell {job.cell}")
        world = World(scenario, job.seed)
        world.check_history()  # a run that loses an intent fails its cell, with the reason
        sink = MeasureSink()
        world.subscribe(sink)
        world.run()
        measures = sink.measures(world, world.now, job.window, job.tolerance)
    except Exception as error:  # recorded, not raised: the sweep goes on
        return failed_record(job, error)
    return {"cell": job.cell, "replication": job.replication, "seed": job.seed, "key": job.key,
            "status": "ok", "error": None, "measures": measures.model_dump(mode="json")}
