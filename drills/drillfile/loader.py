"""Loading a drill file: YAML → :class:`~drills.drillfile.schema.Drill`, its scenario resolved with
the overrides and the drill's faults, and every problem reported on one line each.

The drill's faults are appended to the scenario's own, so the resolved scenario written
into every result holds everything that happened to the world.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, get_args

from pydantic import ValidationError

from drills.drillfile.probes import NonceTarget, ProbeBase, WorkflowStep
from drills.drillfile.schema import Drill
from drills.drillfile.steps import (AddAclEntry, FixRootCause, PartnerRequestStep, RequeueDeadLetters, SeedRow, Send,
                                    StepBase)
from simulator.kernel.problems import InputError, Problem, validation_problems
from simulator.kernel.yamlfile import read_yaml_mapping
from simulator import ScenarioError, load_scenario, parse_scenario
from simulator.scenario.model import Scenario

_FAULT_FIELD = re.compile(r"^faults\[(\d+)\]")


class DrillError(InputError):
    """A drill file failed to load or validate."""


@dataclass(frozen=True)
class LoadedDrill:
    """A validated drill, its name (the file's stem) and the scenario it runs on."""

    name: str
    path: Path
    drill: Drill
    scenario: Scenario
    scenario_file: Path

    @property
    def seed(self) -> int:
        """The seed the drill runs with unless one is given."""
        return self.scenario.seed

    def fault_index(self, name: str) -> int:
        """The index of the named drill fault among the scenario's faults."""
        for index, fault in enumerate(self.scenario.faults):
            if fault.name == name:
                return index
        raise KeyError(name)


def merge(base: Any, override: Any) -> Any:
    """Deep-merge ``override`` into ``base``: mappings merge key by key, lists of mappings
    with ``id`` merge item by id (new ids are appended), anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list) and _by_id(base) and _by_id(override):
        items = {item["id"]: item for item in base}
        for item in override:
            items[item["id"]] = merge(items[item["id"]], item) if item["id"] in items else item
        return list(items.values())
    return override


def _by_id(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(item, dict) and "id" in item for item in items)


def parse_drill(data: dict[str, Any], path: Path) -> LoadedDrill:
    """Validate a parsed drill mapping read from ``path``; raise :class:`DrillError`."""
    file = str(path)
    try:
        drill = Drill.model_validate(data)
    except ValidationError as exc:
        raise DrillError(validation_problems(exc, file, Drill)) from None
    problems = _timing_problems(drill, file)
    scenario_file = Path(os.path.normpath(path.parent / drill.scenario))
    try:
        scenario_data = read_yaml_mapping(scenario_file, ScenarioError)
    except ScenarioError as exc:
        raise DrillError([Problem(file=file, field="scenario",
                                  message=f"expected a readable scenario file: {exc.problems[0].line()}")]) from None
    merged = merge(scenario_data, drill.overrides)
    own_faults = len(merged.get("faults") or [])
    merged["faults"] = list(merged.get("faults") or []) + list(data.get("faults") or [])
    if drill.seed is not None:
        merged["seed"] = drill.seed
    merged["duration"] = drill.duration + drill.settle  # the world runs as long as the drill does
    try:
        scenario = parse_scenario(merged, str(scenario_file))
    except ScenarioError as exc:
        mapped = [_scenario_problem(p, file, own_faults, bool(drill.overrides)) for p in exc.problems]
        known = {problem.field for problem in problems}  # a drill fault past the end is already named
        raise DrillError(problems + [p for p in mapped if p.field not in known]) from None
    problems += _reference_problems(drill, scenario, file, scenario.faults[:own_faults])
    if problems:
        raise DrillError(problems)
    return LoadedDrill(path.stem, path, drill, scenario, scenario_file)


def load_drill(path: str | Path) -> LoadedDrill:
    """Load and validate a drill YAML file; raise :class:`DrillError` on any problem."""
    path = Path(path)
    return parse_drill(read_yaml_mapping(path, DrillError), path)


def _scenario_problem(problem: Problem, file: str, own_faults: int, overridden: bool) -> Problem:
    """A scenario problem caused by the drill is reported against the drill's own field."""
    found = _FAULT_FIELD.match(problem.field)
    if found and int(found.group(1)) >= own_faults:
        field = f"faults[{int(found.group(1)) - own_faults}]" + problem.field[found.end():]
        return Problem(file=file, field=field, message=problem.message)
    if overridden:
        return Problem(file=file, field=f"overrides → {problem.field}",
                       message=f"{problem.message} (in {problem.file} after the overrides)")
    return Problem(file=file, field="scenario", message=problem.line())


def _timing_problems(drill: Drill, file: str) -> list[Problem]:
    problems: list[Problem] = []

    def late(field: str, when: float | None) -> None:
        if when is not None and when > drill.duration:
            problems.append(Problem(file=file, field=field, message=f"expected a time within the drill's duration "
                                    f"({drill.duration:g} s), found {when:g} s"))

    for index, step in enumerate(drill.steps):
        if step.at is None:
            problems.append(Problem(file=file, field=f"steps[{index}].at",
                                    message="missing; expected the virtual time the step is played at"))
        late(f"steps[{index}].at", step.at)
    for index, step in enumerate(drill.rollbacks):
        if step.at is not None:
            problems.append(Problem(file=file, field=f"rollbacks[{index}].at",
                                    message="expected no at: rollbacks run in order when the method ends"))
    for index, fault in enumerate(drill.faults):
        late(f"faults[{index}].at", fault.at)
    for index, probe in enumerate(drill.expectations):
        if probe.at is None and probe.by is None:
            problems.append(Problem(file=file, field=f"expectations[{index}]",
                                    message="expected at (check once) or by (a deadline), found neither"))
        if probe.at is not None and "after" in probe.model_fields_set:
            problems.append(Problem(file=file, field=f"expectations[{index}].after",
                                    message="expected after only with by: a probe checked at one time has no window"))
        late(f"expectations[{index}].at", probe.at)
        late(f"expectations[{index}].by", probe.by)
    untimed: Iterable[tuple[str, list[ProbeBase]]] = (
        ("steady_state.before", list(drill.steady_state.before)), ("steady_state.after", list(drill.steady_state.after)),
        ("guards", list(drill.guards)))
    for where, untimed_probes in untimed:
        for index, untimed_probe in enumerate(untimed_probes):
            if untimed_probe.at is not None or untimed_probe.by is not None:
                problems.append(Problem(file=file, field=f"{where}[{index}]",
                                        message="expected no at or by: this probe is checked when its phase comes"))
    if drill.guard_interval <= 0:
        problems.append(Problem(file=file, field="guard_interval", message="expected a positive duration, found 0 s"))
    return problems


def _reference_problems(drill: Drill, scenario: Scenario, file: str, scenario_faults: list[Any]) -> list[Problem]:
    """Names and ids a drill uses must exist in the drill or its scenario."""
    problems: list[Problem] = []
    names = [fault.name for fault in drill.faults if fault.name is not None]
    taken = {fault.name for fault in scenario_faults if fault.name is not None}
    for index, fault in enumerate(drill.faults):
        if fault.name is not None and names.count(fault.name) > 1:
            problems.append(Problem(file=file, field=f"faults[{index}].name",
                                    message=f"expected a unique fault name, found {fault.name!r} {names.count(fault.name)} times"))
        elif fault.name in taken:
            problems.append(Problem(file=file, field=f"faults[{index}].name",
                                    message=f"expected a name no scenario fault has, found {fault.name!r}"))
    agents = {agent.id for agent in scenario.agents}
    workflows = len(scenario.traffic.workflows)
    for where, steps in (("steps", drill.steps), ("rollbacks", drill.rollbacks)):
        for index, step in enumerate(steps):
            problems += _step_problems(step, f"{where}[{index}]", file, names, agents)
            proof = step.patch.get("proofIntentNonce") if isinstance(step, PartnerRequestStep) else None
            if isinstance(proof, str) and proof.startswith("step:"):
                field = f"{where}[{index}].patch.proofIntentNonce"
                if proof.removeprefix("step:") not in get_args(WorkflowStep):
                    problems.append(Problem(file=file, field=field, message="expected step:quote, step:inventory or "
                                            f"step:preflight, found {proof!r}"))
                elif workflows == 0:
                    problems.append(Problem(file=file, field=field, message=f"expected a scenario with a quote "
                                            f"workflow for {proof!r}, found none: use a nonce"))
    probes = (("expectations", drill.expectations), ("steady_state.before", drill.steady_state.before),
              ("steady_state.after", drill.steady_state.after), ("guards", drill.guards))
    for where, found in probes:
        for index, probe in enumerate(found):
            if isinstance(probe, NonceTarget) and probe.step is not None and workflows == 0:
                problems.append(Problem(file=file, field=f"{where}[{index}].step",
                                        message="expected a scenario with a quote workflow, found none: use nonce"))
    return problems


def _step_problems(step: StepBase, field: str, file: str, faults: list[str], agents: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(step, FixRootCause) and step.fault not in faults:
        problems.append(Problem(file=file, field=f"{field}.fault",
                                message=f"expected the name of one of the drill's faults {sorted(faults)}, found {step.fault!r}"))
    named: list[tuple[str, str | None]] = []
    if isinstance(step, Send):
        named = [("from", step.sender), ("to", step.recipient)]
    elif isinstance(step, AddAclEntry):
        named = [("target", step.target)]
    elif isinstance(step, RequeueDeadLetters):
        named = [("recipient", step.recipient)]
    elif isinstance(step, SeedRow):
        named = [("from", step.sender), ("to", step.recipient)]
    for key, beam_id in named:
        if beam_id is not None and beam_id not in agents:
            problems.append(Problem(file=file, field=f"{field}.{key}",
                                    message=f"expected one of the scenario's agents, found {beam_id!r}"))
    if isinstance(step, PartnerRequestStep) and "email" in step.patch:
        problems.append(Problem(file=file, field=f"{field}.patch.email", message="unknown key; the email is the step's own field"))
    return problems
