"""The grid: a sweep file expanded into cells, each a fully resolved, validated scenario
(and, for a rollout sweep, a fully resolved rollout: :mod:`drills.sweep.rollouts`).

An override is applied by field path onto the resolved scenario's JSON form (every default
written out, so every field has a path), and the result goes through the scenario's own
validation again: a value the scenario would refuse is reported against the sweep file,
naming the axis, the value and the scenario field.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drills.drillfile.builtin import resolve
from drills.drillfile.loader import DrillError, load_drill
from drills.runs.files import shown_path
from drills.sweep.cell import CellJob, job_key
from drills.sweep.model import (
    EXPOSURE, LOAD, MAX_RUNS, MEASURES, ROLLOUT, ROLLOUT_MEASURES, Axis, SweepError, SweepFile, read_sweep,
)
from drills.sweep.rollouts import RolloutWorld, load_rollout_world, set_exposure, validated_rollout
from simulator import InputError, Problem, Scenario, ScenarioError, load_scenario, parse_scenario

_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:\[(?:\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")
#: A list index written as a path step (``steps.0.weight``), read as ``steps[0].weight``.
_DOTTED_INDEX = re.compile(r"\.(\d+)(?=\.|$)")
PATH_HINT = "a scenario field path like bus.max_retries, agents[0].failure_rate, faults[0].duration or load"
ROLLOUT_PATH_HINT = ("a rollout field path like change.latency_factor, steps[0].weight, analysis.min_samples, "
                     "scenario.bus.max_retries, exposure or load")


class PathError(ValueError):
    """An axis path does not lead to a field of the scenario."""


def apply_override(data: dict[str, Any], path: str, value: Any, root: str = "the scenario",
                   hint: str = PATH_HINT) -> None:
    """Set the field at ``path`` of a scenario's JSON form (or ``root``'s) to ``value`` (in
    place); ``load`` multiplies every route's rate; ``steps.0.weight`` is ``steps[0].weight``.
    Raise :class:`PathError` for a path that leads nowhere."""
    if path == LOAD:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise PathError(f"expected a positive number (a factor on every route's rate), found {value!r}")
        routes = data["traffic"]["routes"]
        if not routes:
            raise PathError("expected a scenario with traffic routes for load, found none")
        for route in routes:
            route["rate"] = route["rate"] * value
        return
    steps = _DOTTED_INDEX.sub(r"[\1]", path).split(".")
    targets: list[Any] = [data]
    for number, step in enumerate(steps):
        found = _STEP.match(step)
        if found is None:
            raise PathError(f"expected {hint}, found {path!r}")
        key, indexes = found.group(1), _INDEX.findall(found.group(2))
        last = number == len(steps) - 1
        where = ".".join(steps[:number]) or root
        parents = targets
        for parent in parents:
            if not isinstance(parent, dict):
                raise PathError(f"expected a mapping at {where}, found {type(parent).__name__}")
            if key not in parent:
                raise PathError(f"unknown field {key!r} in {where}; expected one of: {', '.join(parent)}")
        if last and not indexes:
            for parent in parents:
                parent[key] = copy.deepcopy(value)
            return
        targets = [parent[key] for parent in parents]
        for position, index in enumerate(indexes):
            final = last and position == len(indexes) - 1
            targets = _index(targets, index, f"{'.'.join(steps[:number])}{'.' if number else ''}{key}", value, final)
            if final:
                return


def _index(lists: list[Any], index: str, where: str, value: Any, final: bool) -> list[Any]:
    chosen: list[Any] = []
    for items in lists:
        if not isinstance(items, list):
            raise PathError(f"expected a list at {where}, found {type(items).__name__}")
        positions = range(len(items)) if index == "*" else [int(index)]
        if index != "*" and int(index) >= len(items):
            raise PathError(f"expected an index below {len(items)} ({where} has {len(items)} items), found {index}")
        for position in positions:
            if final:
                items[position] = copy.deepcopy(value)
            chosen.append(items[position])
    return chosen


@dataclass(frozen=True)
class Cell:
    """One combination of the grid's values and the scenario it resolves to (and the
    rollout, in a rollout sweep)."""

    index: int
    levels: tuple[Any, ...]
    positions: tuple[int, ...]
    scenario: dict[str, Any]
    rollout: dict[str, Any] | None = None


@dataclass(frozen=True)
class Plan:
    """A sweep ready to run: the file, its world, the cells, the seeds and the chart axes."""

    file: Path
    sweep: SweepFile
    world: str
    cells: list[Cell]
    seeds: list[int]
    x: Axis
    compare: Axis | None

    @property
    def axes(self) -> list[Axis]:
        """The grid's axes, in the file's order."""
        return list(self.sweep.grid)

    def overrides(self, cell: Cell) -> dict[str, Any]:
        """A cell's values by axis name."""
        return {axis.label: level for axis, level in zip(self.sweep.grid, cell.levels)}

    def jobs(self) -> list[CellJob]:
        """Every run of the sweep: each cell once per replication, cell by cell."""
        recovery = self.sweep.recovery
        return [CellJob(cell=cell.index, replication=replication, seed=seed, scenario=cell.scenario,
                        window=recovery.window, tolerance=recovery.tolerance,
                        key=job_key(cell.scenario, seed, recovery.window, recovery.tolerance, cell.rollout),
                        rollout=cell.rollout)
                for cell in self.cells for replication, seed in enumerate(self.seeds)]


def load_plan(path: Path) -> Plan:
    """Read a sweep file and expand it; raise :class:`SweepError` with every problem."""
    sweep = read_sweep(path)
    file = str(path)
    problems: list[Problem] = []
    wanted: tuple[str, ...] = ROLLOUT_MEASURES if sweep.is_rollout else MEASURES
    for index, measure in enumerate(sweep.measures):
        if measure not in wanted:
            kind = "a rollout sweep" if sweep.is_rollout else "a scenario or drill sweep"
            problems.append(Problem(file=file, field=f"measures[{index}]", message=f"expected a measure of {kind} "
                                    f"({', '.join(wanted)}), found {measure!r}"))
    labels = [axis.label for axis in sweep.grid]
    for index, axis in enumerate(sweep.grid):
        if labels.count(axis.label) > 1:
            problems.append(Problem(file=file, field=f"grid[{index}].name",
                                    message=f"expected a unique axis name, found {axis.label!r} {labels.count(axis.label)} times"))
    x = sweep.axis(sweep.x) if sweep.x is not None else next((a for a in sweep.grid if a.path == LOAD), sweep.grid[0])
    if x is None:
        problems.append(Problem(file=file, field="x", message=f"expected one of the axes {labels}, found {sweep.x!r}"))
    compare = sweep.axis(sweep.compare) if sweep.compare is not None else \
        next((a for a in reversed(sweep.grid) if a is not x), None)
    if sweep.compare is not None and compare is None:
        problems.append(Problem(file=file, field="compare", message=f"expected one of the axes {labels}, found {sweep.compare!r}"))
    runs = sweep.replications
    for axis in sweep.grid:
        runs *= len(axis.values)
    if runs > MAX_RUNS:
        problems.append(Problem(file=file, field="grid", message=f"expected at most {MAX_RUNS:,} runs (cells times "
                                                                  f"replications), found {runs:,}"))
    if sweep.is_rollout:
        return _rollout_plan(path, sweep, problems, x, compare)
    base, world = _base(sweep, path)
    problems += _axis_problems(sweep, base, file)
    if problems:
        raise SweepError(problems)
    cells = []
    for index, positions in enumerate(itertools.product(*(range(len(axis.values)) for axis in sweep.grid))):
        levels = tuple(axis.values[position] for axis, position in zip(sweep.grid, positions))
        data = copy.deepcopy(base)
        where = ", ".join(f"{axis.label}={level!r}" for axis, level in zip(sweep.grid, levels))
        try:
            for axis, level in zip(sweep.grid, levels):
                apply_override(data, axis.path, level)
        except PathError as error:  # an earlier axis's value took away a later axis's field
            problems.append(Problem(file=file, field=f"grid (cell {where})", message=str(error)))
            continue
        scenario = _validated(data, file, f"grid (cell {where})", problems)
        if scenario is not None:
            cells.append(Cell(index, levels, positions, scenario.model_dump(mode="json", by_alias=True)))
    if problems:
        raise SweepError(problems)
    seed = base["seed"] if sweep.seed is None else sweep.seed
    assert x is not None
    return Plan(path, sweep, world, cells, [seed + k for k in range(sweep.replications)], x, compare)


def _axis_problems(sweep: SweepFile, base: dict[str, Any], file: str) -> list[Problem]:
    """Each axis value applied alone: a path that leads nowhere, or a value the scenario refuses."""
    problems: list[Problem] = []
    for index, axis in enumerate(sweep.grid):
        for position, value in enumerate(axis.values):
            data = copy.deepcopy(base)
            try:
                apply_override(data, axis.path, value)
            except PathError as error:
                field = f"grid[{index}].values[{position}]" if axis.path == LOAD else f"grid[{index}].path"
                problems.append(Problem(file=file, field=field, message=str(error)))
                if axis.path != LOAD:
                    break
                continue
            _validated(data, file, f"grid[{index}].values[{position}]", problems)
    return problems


def _validated(data: dict[str, Any], file: str, where: str, problems: list[Problem]) -> Scenario | None:
    try:
        return parse_scenario(data, file)
    except ScenarioError as error:
        problems += [Problem(file=file, field=f"{where} → {problem.field}", message=problem.message)
                     for problem in error.problems]
    return None


def _base(sweep: SweepFile, path: Path) -> tuple[dict[str, Any], str]:
    """The world the grid overrides, as JSON data, and how files name it."""
    file = str(path)
    if (sweep.scenario is None) == (sweep.drill is None):
        raise SweepError([Problem(file=file, field="scenario", message="expected exactly one of scenario, drill and "
                                  f"rollout, found {'both scenario and drill' if sweep.scenario else 'neither'}")])
    try:
        if sweep.scenario is not None:
            scenario_file = Path(os.path.normpath(path.parent / sweep.scenario))
            scenario, world = load_scenario(scenario_file), shown_path(scenario_file)
        else:
            assert sweep.drill is not None
            local = path.parent / sweep.drill
            found = local if local.suffix in (".yaml", ".yml") else resolve(sweep.drill)
            if isinstance(found, Problem):
                raise SweepError([Problem(file=file, field="drill", message=found.message)])
            loaded = load_drill(found)
            scenario, world = loaded.scenario, f"drill {shown_path(loaded.path)}"
    except (ScenarioError, DrillError) as error:
        field = "scenario" if sweep.scenario is not None else "drill"
        raise SweepError([Problem(file=file, field=field,
                                  message=f"expected a valid file: {error.problems[0].line()}")]) from None
    data = scenario.model_dump(mode="json", by_alias=True)
    if sweep.duration is not None:
        data["duration"] = sweep.duration
        problems: list[Problem] = []
        _validated(data, file, "duration", problems)
        if problems:
            raise SweepError(problems)
    return data, world


def _override_rollout(data: dict[str, Any], path: str, value: Any) -> None:
    """Apply one axis value to a rollout world (:mod:`drills.sweep.rollouts`); raise ValueError."""
    if path == LOAD:
        apply_override(data["scenario"], LOAD, value)
    elif path == EXPOSURE:
        set_exposure(data, value)
    else:
        apply_override(data, path, value, root="the rollout", hint=ROLLOUT_PATH_HINT)


def _rollout_plan(path: Path, sweep: SweepFile, problems: list[Problem], x: Axis | None,
                  compare: Axis | None) -> Plan:
    """A rollout sweep's plan: each cell's rollout (the ``rollout`` axis's value, else the
    sweep's) with the cell's overrides, validated as ``beamdrill canary`` validates it."""
    file = str(path)
    if sweep.scenario is not None or sweep.drill is not None:
        raise SweepError([Problem(file=file, field="rollout", message="expected exactly one of scenario, drill and "
                                  f"rollout, found both {'scenario' if sweep.scenario is not None else 'drill'} "
                                  "and rollout")])
    if sweep.duration is not None:
        problems.append(Problem(file=file, field="duration", message="expected no duration in a rollout sweep (the "
                                f"rollout's steps say how long it runs), found {sweep.duration:g} s"))
    chooser = next((axis for axis in sweep.grid if axis.path == ROLLOUT), None)
    named: list[tuple[Any, str]] = [] if sweep.rollout is None else [(sweep.rollout, "rollout")]
    for index, axis in enumerate(sweep.grid):
        if axis.path != ROLLOUT:
            continue
        if axis is not chooser:
            problems.append(Problem(file=file, field=f"grid[{index}].path",
                                    message="expected at most one axis of path rollout, found another"))
            continue
        named += [(value, f"grid[{index}].values[{position}]") for position, value in enumerate(axis.values)]
    worlds: dict[str, RolloutWorld] = {}
    for name, field in named:
        if not isinstance(name, str) or not name:
            problems.append(Problem(file=file, field=field, message=f"expected a rollout file or a built-in "
                                    f"rollout's name, found {name!r}"))
        elif name not in worlds:
            try:
                worlds[name] = load_rollout_world(name, path, field)
            except SweepError as error:
                problems += error.problems
    if problems:
        raise SweepError(problems)
    for index, axis in enumerate(sweep.grid):
        if axis.path == ROLLOUT:
            continue
        for name, world in worlds.items():
            where = f" (rollout {name})" if len(worlds) > 1 else ""
            for position, value in enumerate(axis.values):
                data = copy.deepcopy(world.document)
                try:
                    _override_rollout(data, axis.path, value)
                except ValueError as error:
                    special = axis.path in (LOAD, EXPOSURE)
                    field = f"grid[{index}].values[{position}]" if special else f"grid[{index}].path"
                    problems.append(Problem(file=file, field=field + where, message=str(error)))
                    if not special:
                        break
                    continue
                validated_rollout(data, world.scenario_name, file, f"grid[{index}].values[{position}]{where}",
                                  problems)
    if problems:
        raise SweepError(problems)
    cells = []
    for index, positions in enumerate(itertools.product(*(range(len(axis.values)) for axis in sweep.grid))):
        levels = tuple(axis.values[position] for axis, position in zip(sweep.grid, positions))
        name = levels[sweep.grid.index(chooser)] if chooser is not None else sweep.rollout
        world = worlds[str(name)]
        data = copy.deepcopy(world.document)
        where = ", ".join(f"{axis.label}={level!r}" for axis, level in zip(sweep.grid, levels))
        try:
            for axis, level in zip(sweep.grid, levels):
                if axis.path != ROLLOUT:
                    _override_rollout(data, axis.path, level)
        except ValueError as error:
            problems.append(Problem(file=file, field=f"grid (cell {where})", message=str(error)))
            continue
        resolved = validated_rollout(data, world.scenario_name, file, f"grid (cell {where})", problems)
        if resolved is not None:
            cells.append(Cell(index, levels, positions, resolved[0], resolved[1]))
    if problems:
        raise SweepError(problems)
    first = worlds[str(sweep.rollout if sweep.rollout is not None else named[0][0])]
    seed = sweep.seed if sweep.seed is not None else first.seed if first.seed is not None else 0
    label = first.label if len(worlds) == 1 else "rollouts " + ", ".join(w.label.removeprefix("rollout ")
                                                                           for w in worlds.values())
    assert x is not None
    return Plan(path, sweep, label, cells, [seed + k for k in range(sweep.replications)], x, compare)


def plan_or_problems(path: Path) -> Plan | list[Problem]:
    """:func:`load_plan`, with its problems returned instead of raised."""
    try:
        return load_plan(path)
    except InputError as error:
        return error.problems
