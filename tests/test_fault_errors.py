"""Bad fault, fidelity and quirk input: exactly one clear problem each, at the field path the
user wrote, and exit 2 from the CLI with no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import beamdrill
from simulator.scenario.faults import FAULT_KINDS
from simulator import Problem, ScenarioError, load_scenario
from simulator.kernel.units import DURATION_HINT

A, B = "a@x.beam", "b@x.beam"
BASE: dict[str, Any] = {
    "name": "t",
    "agents": [{"id": A}, {"id": B}],
    "acl": [{"target": B, "intent": "agent.ping", "allowed_from": A}],
    "traffic": {"routes": [{"name": "r1", "from": A, "to": B, "intent": "agent.ping", "rate": "1/s"}]},
}
KINDS = ", ".join(f"'{kind}'" for kind in FAULT_KINDS)
QUIRK_KEYS = "retry_trace_guard, clock_skew_trace, late_result_crash, trust_gate_window_wipe, rate_limit_env_sets_both"


def fault(**fields: Any) -> dict[str, Any]:
    return {"faults": [fields]}


# name → (scenario additions, field, check of the message: exact text, or a predicate)
CASES: dict[str, tuple[dict[str, Any], str, Any]] = {
    "unknown_kind": (fault(kind="meteor", at=1), "faults[0].kind", f"expected a kind among {KINDS}, found 'meteor'"),
    "missing_kind": (fault(agent=A, at=1), "faults[0].kind", f"missing; expected a kind among {KINDS}"),
    "unknown_agent": (fault(kind="agent_disconnect", agent="z@x.beam"), "faults[0].agent",
                      "expected one of the scenario's agents, found 'z@x.beam'"),
    "until_before_at": (fault(kind="agent_disconnect", agent=A, at=10, until=5), "faults[0]",
                        lambda m: m.startswith("expected until ≥ at (the fault ends after it starts), "
                                               "found until 5 s before at 10 s")),
    "duration_and_until": (fault(kind="agent_disconnect", agent=A, duration=5, until=50), "faults[0]",
                           lambda m: m.startswith("expected either duration or until, not both")),
    "toxicity_above_1": (fault(kind="link", link="bus->directory", toxic="loss", toxicity=1.5),
                         "faults[0].toxicity", "expected less than or equal to 1, found 1.5"),
    "trust_above_1": (fault(kind="trust_drop", agent=A, trust=1.2), "faults[0].trust",
                      "expected less than or equal to 1, found 1.2"),
    "negative_duration": (fault(kind="agent_disconnect", agent=A, duration=-5), "faults[0].duration",
                          f"expected {DURATION_HINT}, not negative, found -5"),
    "acl_remove_of_missing_row": (fault(kind="acl_remove", target=B, intent="agent.ping", allowed_from="*"),
                                  "faults[0]", "expected one of the scenario's acl rows, found b@x.beam agent.ping "
                                               "from *"),
    "injection_on_unknown_route": (fault(kind="injection", route="nope"), "faults[0].route",
                                   "expected one of the route names ['r1'], found 'nope'"),
    "duration_on_instant_kind": (fault(kind="bus_restart", duration=5), "faults[0]",
                                 lambda m: m.startswith("expected no duration or until: this fault happens at an "
                                                        "instant")),
    "bad_link_name": (fault(kind="link", link="bus->agent", toxic="loss"), "faults[0].link",
                      lambda m: "bus->directory" in m and "directory->" in m and m.endswith("found 'bus->agent'")),
    "link_to_unknown_agent": (fault(kind="link", link="directory->z@x.beam", toxic="loss"), "faults[0].link",
                              "expected one of the scenario's agents, found 'z@x.beam'"),
    "rate_limit_unknown_layer": (fault(kind="rate_limit", layer="galaxy", limit=5), "faults[0].layer",
                                 "expected 'bus', 'public_ip', 'public_sender' or 'relay_sender', found 'galaxy'"),
    "rate_limit_zero": (fault(kind="rate_limit", layer="bus", limit=0), "faults[0].limit",
                        "expected greater than or equal to 1, found 0"),
    "clock_skew_without_skew": (fault(kind="clock_skew", agent=A), "faults[0].skew", "missing; expected a value"),
    "unknown_fidelity": ({"fidelity": "exact"}, "fidelity", "expected 'documented' or 'as-coded', found 'exact'"),
    "unknown_quirk": ({"quirks": {"crash": True}}, "quirks.crash", f"unknown key; expected one of: {QUIRK_KEYS}"),
}


def write(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**BASE, **CASES[name][0]}, allow_unicode=True), encoding="utf-8")
    return path


def the_problem(path: Path) -> Problem:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problems = caught.value.problems
    assert len(problems) == 1, [p.line() for p in problems]
    return problems[0]


def test_base_scenario_is_valid(tmp_path):
    path = tmp_path / "base.yaml"
    path.write_text(yaml.safe_dump(BASE), encoding="utf-8")
    assert load_scenario(path).name == "t"


@pytest.mark.parametrize("name", list(CASES))
def test_bad_fault_input_is_one_problem_at_the_exact_field(tmp_path, name):
    _, field, check = CASES[name]
    path = write(tmp_path, name)
    problem = the_problem(path)
    message_ok = check(problem.message) if callable(check) else problem.message == check
    assert (problem.file, problem.field, message_ok) == (str(path), field, True), problem.message


def test_problem_names_the_index_of_the_bad_fault(tmp_path):
    path = tmp_path / "second.yaml"
    faults = [{"kind": "bus_restart", "at": 1}, {"kind": "agent_errors", "agent": "z@x.beam"}]
    path.write_text(yaml.safe_dump({**BASE, "faults": faults}), encoding="utf-8")
    assert the_problem(path).field == "faults[1].agent"


@pytest.mark.parametrize("name", list(CASES))
def test_cli_exits_2_with_the_one_problem_line_and_no_traceback(tmp_path, name):
    path = write(tmp_path, name)
    expected = the_problem(path).line()
    out = tmp_path / "out"
    result = beamdrill("run", path, "--out", out, cwd=tmp_path, env={"COLUMNS": None, "LINES": None, "NO_COLOR": "1"})
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert [line.rstrip() for line in result.stderr.splitlines()] == [expected]
    assert not (out / "result.json").exists()
