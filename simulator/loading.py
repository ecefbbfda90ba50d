"""Loading a scenario for a world: the schema and reference checks of
:mod:`simulator.scenario.loader`, then the checks that ask the world's policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simulator.kernel.gctune import tuned_gc
from simulator.kernel.problems import Problem
from simulator.kernel.yamlfile import read_yaml_mapping
from simulator.scenario.loader import ScenarioError, validate_scenario
from simulator.scenario.model import Scenario
from simulator.policies import bus_retry


def policy_problems(scenario: Scenario, file: str = "<scenario>") -> list[Problem]:
    """Problems only the selected policies can tell: the retention horizon must outlast
    the longest the bus can retry one message under the selected retry policy."""
    horizon = scenario.retention.finished_rows
    bus = scenario.bus
    policy, max_retries = bus_retry(bus)
    span = policy.longest_span(max_retries, bus.worker_interval, bus.attempt_timeout)
    if horizon is not None and horizon < span:
        return [Problem(file=file, field="retention.finished_rows",
                        message=f"expected null or at least {span:g} s, the longest the bus can retry a message "
                                f"with these bus settings, found {horizon:g} s")]
    return []


def parse_scenario(data: dict[str, Any], file: str = "<scenario>") -> Scenario:
    """Validate an already-parsed mapping; raise :class:`ScenarioError` on any problem."""
    with tuned_gc():  # validation allocates a model per agent, route and row, and frees none
        scenario = validate_scenario(data, file)
    problems = policy_problems(scenario, file)
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario YAML file; raise :class:`ScenarioError` on any problem."""
    path = Path(path)
    return parse_scenario(read_yaml_mapping(path, ScenarioError), str(path))
