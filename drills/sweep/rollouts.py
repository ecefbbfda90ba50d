"""Rollout sweeps: a canary rollout as a sweep's world, and what one run of it measured.

A rollout sweep's world is the rollout's JSON form with its ``scenario`` field holding the
resolved scenario's JSON form, so one path grammar reaches both: ``change.latency_factor``,
``steps[0].weight`` and ``analysis.min_samples`` lead into the rollout, ``scenario.…`` into
its scenario. Two special paths: ``exposure`` sets the first canary step's weight (rollouts
whose first step is a shadow period included), ``rollout`` picks the rollout itself. After
the overrides, the scenario and the rollout are validated again and checked together, as
``beamdrill canary`` checks a rollout file.

A run starts the rollout in a fresh world with the job's seed and runs every step, as
``beamdrill canary --seed N --no-telemetry`` does; its measures:

- **caught_at_first_step**: the decision was Failed in an interval of the first canary step;
- **failed**, **inconclusive**, **promoted**: the rollout's decision (Failed, Inconclusive,
  Successful);
- **rolled_back_within_limit**: it rolled back, and the rollback completed within the
  rollout's limit (5 minutes unless the file says otherwise) of the first harmful interval;
- **rollback_seconds**: from the first harmful interval's start to rollback complete (no
  value without a rollback);
- **blast_radius_intents**: intents the new version answered live.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from drills.canary.builtin import resolve_rollout
from drills.canary.result import CanaryResult
from drills.canary.rollout import Rollout, RolloutFile, load_rollout, rollout_problems
from drills.canary.runner import result_of, run_steps, start
from drills.runs.files import shown_path
from drills.sweep.cell import CellJob, failed_record
from drills.sweep.model import SweepError
from simulator import InputError, Problem, ScenarioError, parse_scenario
from simulator.kernel.problems import validation_problems


class RolloutMeasures(BaseModel):
    """Every measure of one rollout run, and what it was decided on: the decision, its
    reason, the step it was decided at (the last step when promoted) and the first canary
    step's exposure (percent of the changed agent's traffic)."""

    decision: str
    reason: str
    decided_at_step: int | None
    first_step_exposure_pct: float | None
    caught_at_first_step: bool
    failed: bool
    inconclusive: bool
    promoted: bool
    rolled_back_within_limit: bool
    rollback_seconds: float | None
    blast_radius_intents: int


def first_canary_step(rollout: RolloutFile) -> int | None:
    """The index of the rollout's first canary step (None when it has none)."""
    return next((index for index, step in enumerate(rollout.steps) if step.action == "canary"), None)


def rollout_measures(result: CanaryResult, rollout: RolloutFile) -> RolloutMeasures:
    """What a finished rollout's result measured."""
    last = result.intervals[-1] if result.intervals else None
    decided_at = None if last is None else last.step
    exposure = next((step.get("exposure_pct") for step in result.steps if step["action"] == "canary"), None)
    rollback = result.rollback
    return RolloutMeasures(
        decision=result.decision, reason=result.reason, decided_at_step=decided_at, first_step_exposure_pct=exposure,
        caught_at_first_step=result.decision == "Failed" and decided_at == first_canary_step(rollout),
        failed=result.decision == "Failed", inconclusive=result.decision == "Inconclusive",
        promoted=result.decision == "Successful",
        rolled_back_within_limit=rollback is not None and rollback.completed_within_5_minutes,
        rollback_seconds=None if rollback is None else rollback.seconds,
        blast_radius_intents=result.blast_radius.intents)


def _go_on() -> None:
    """A sweep's run is never asked to stop midway (the executor abandons it instead)."""


def run_rollout(job: CellJob) -> dict[str, Any]:
    """Run ``job``'s rollout with its seed and return its record (as :func:`drills.sweep.cell.run_cell` does)."""
    assert job.rollout is not None
    try:
        scenario = parse_scenario(job.scenario, f"cell {job.cell}")
        spec = RolloutFile.model_validate(job.rollout)
        run = start(Rollout(file=f"cell {job.cell}", rollout=spec, scenario=scenario), job.seed)
        run_steps(run, _go_on)
        measures = rollout_measures(result_of(run, []), spec)
    except Exception as error:  # recorded, not raised: the sweep goes on
        return failed_record(job, error)
    return {"cell": job.cell, "replication": job.replication, "seed": job.seed, "key": job.key,
            "status": "ok", "error": None, "measures": measures.model_dump(mode="json")}


@dataclass(frozen=True)
class RolloutWorld:
    """A rollout ready for the grid: its JSON form with ``scenario`` holding the resolved
    scenario's JSON form, the name the rollout gives its scenario, its seed (None: the
    scenario's) and how files name it."""

    document: dict[str, Any]
    scenario_name: str
    seed: int | None
    label: str


def load_rollout_world(name: str, sweep_file: Path, field: str) -> RolloutWorld:
    """The rollout ``name`` (a file relative to the sweep file, or a built-in rollout's
    name) read and checked; raise :class:`SweepError` naming ``field`` of the sweep file."""
    file = str(sweep_file)
    local = sweep_file.parent / name
    found = local if local.suffix in (".yaml", ".yml") else resolve_rollout(name)
    if isinstance(found, Problem):
        raise SweepError([Problem(file=file, field=field, message=found.message)])
    try:
        loaded = load_rollout(found)
    except InputError as error:
        raise SweepError([Problem(file=file, field=field,
                                  message=f"expected a valid rollout: {error.problems[0].line()}")]) from None
    document = loaded.rollout.model_dump(mode="json", by_alias=True)
    document["scenario"] = loaded.scenario.model_dump(mode="json", by_alias=True)
    seed = loaded.rollout.seed if loaded.rollout.seed is not None else loaded.scenario.seed
    return RolloutWorld(document, loaded.rollout.scenario, seed, f"rollout {shown_path(found)}")


def set_exposure(document: dict[str, Any], value: Any) -> None:
    """Set the first canary step's weight of a rollout world (in place); raise ValueError
    for a value that is no percentage or a rollout without a canary step."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise ValueError(f"expected a percentage above 0 and at most 100 (the first canary step's weight), "
                         f"found {value!r}")
    for step in document["steps"]:
        if isinstance(step, dict) and step.get("action") == "canary":
            step["weight"] = value
            return
    raise ValueError("expected a rollout with a canary step for exposure, found none")


def validated_rollout(document: dict[str, Any], scenario_name: str, file: str, where: str,
                      problems: list[Problem]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A rollout world after its overrides, validated and checked as ``beamdrill canary``
    checks a rollout file: the scenario's and the rollout's resolved JSON forms; None, with
    every problem added to ``problems`` (fields prefixed by ``where``), when refused."""
    data = copy.deepcopy(document)
    scenario_data = data.pop("scenario")
    try:
        scenario = parse_scenario(scenario_data, file)
    except ScenarioError as error:
        problems += [Problem(file=file, field=f"{where} → scenario.{problem.field}", message=problem.message)
                     for problem in error.problems]
        return None
    try:
        rollout = RolloutFile.model_validate({**data, "scenario": scenario_name})
    except ValidationError as exc:
        problems += [Problem(file=file, field=f"{where} → {problem.field}", message=problem.message)
                     for problem in validation_problems(exc, file, RolloutFile)]
        return None
    refused = rollout_problems(rollout, scenario, file)
    if refused:
        problems += [Problem(file=file, field=f"{where} → {problem.field}", message=problem.message)
                     for problem in refused]
        return None
    return scenario.model_dump(mode="json", by_alias=True), rollout.model_dump(mode="json", by_alias=True)
