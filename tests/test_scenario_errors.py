"""Scenario loading errors: one Problem per thing wrong, with the field path and what was
expected and found; and the CLI's exit code 2 with one stderr line per problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import beamdrill
from simulator import Problem, ScenarioError, load_scenario

REPO = Path(__file__).resolve().parent.parent
BEAMDRILL = Path(sys.executable).parent / "beamdrill"

AGENTS = """\
agents:
  - id: a@x.beam
  - id: b@x.beam
"""
VALID = "name: t\n" + AGENTS

RATE_HINT = "a rate like 10/s, 30/min, 600/h or a number per second"
DURATION_HINT = "a duration like 250ms, 30s, 5m, 1h30m or a number of seconds"
SCENARIO_KEYS = ("name, description, seed, duration, epoch, bus, directory, retention, backups, agents, acl, "
                 "traffic, faults, fidelity, quirks, tenants, slos, capabilities, operations, partner_requests")


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problems = caught.value.problems
    assert problems, "ScenarioError without problems"
    for problem in problems:
        assert problem.file == str(path)
    return problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [p.line() for p in problems]
    return problems[0]


def route(**fields: str) -> str:
    body = {"from": "a@x.beam", "to": "b@x.beam", "intent": "ping", "rate": "1/s", **fields}
    inner = ", ".join(f"{key}: {value}" for key, value in body.items())
    return VALID + f"traffic:\n  routes:\n    - {{{inner}}}\n"


# --- sanity: the fixtures themselves are valid -------------------------------------------


def test_base_text_and_demo_are_valid(tmp_path):
    assert load_scenario(write(tmp_path, VALID)).name == "t"
    assert load_scenario(write(tmp_path, route(), "r.yaml")).traffic.routes[0].rate == 1.0
    assert load_scenario(REPO / "scenarios" / "demo.yaml").name == "demo"


def test_problem_line_format():
    problem = Problem(file="f.yaml", field="agents[0].id", message="expected x, found y")
    assert problem.line() == "f.yaml: agents[0].id: expected x, found y"


def test_scenario_error_message_is_the_problem_lines(tmp_path):
    path = write(tmp_path, "name: t\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == f"{path}: agents: missing; expected a value"


# --- missing fields and wrong types ------------------------------------------------------


def test_missing_agents(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\n"))
    assert problem.field == "agents"
    assert problem.message == "missing; expected a value"


def test_missing_name(tmp_path):
    problem = only(problems_of(tmp_path, AGENTS))
    assert problem.field == "name"
    assert problem.message == "missing; expected a value"


def test_seed_not_an_integer(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\nseed: abc\n" + AGENTS))
    assert problem.field == "seed"
    assert problem.message == "expected a whole number, found 'abc'"


def test_connected_not_a_boolean(tmp_path):
    text = 'name: t\nagents:\n  - id: a@x.beam\n    connected: "maybe"\n'
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "agents[0].connected"
    assert problem.message.startswith("expected a valid boolean")
    assert problem.message.endswith("found 'maybe'")


# --- references between fields -----------------------------------------------------------


def test_route_from_unknown_agent(tmp_path):
    problem = only(problems_of(tmp_path, route(**{"from": "z@x.beam"})))
    assert problem.field == "traffic.routes[0].from"
    assert problem.message == "expected one of the scenario's agents, found 'z@x.beam'"


def test_route_to_unknown_agent(tmp_path):
    problem = only(problems_of(tmp_path, route(to="z@x.beam")))
    assert problem.field == "traffic.routes[0].to"
    assert problem.message == "expected one of the scenario's agents, found 'z@x.beam'"


def test_duplicate_agent_id_reported_at_the_duplicate(tmp_path):
    text = "name: t\nagents:\n  - id: a@x.beam\n  - id: a@x.beam\n"
    problem = only(problems_of(tmp_path, text))
    # agents[0] is the original; the second entry is the duplicate.
    assert problem.field == "agents[1].id"
    assert problem.message == "expected a unique agent id, found 'a@x.beam' 2 times"


def test_burst_names_unknown_route(tmp_path):
    text = VALID + (
        "traffic:\n"
        "  routes:\n"
        "    - {name: r1, from: a@x.beam, to: b@x.beam, intent: ping, rate: 1/s}\n"
        "  bursts:\n"
        "    - {route: r2, start: 1m, duration: 1m, multiplier: 3}\n"
    )
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "traffic.bursts[0].route"
    assert problem.message == "expected one of the route names ['r1'], found 'r2'"


def test_workflow_desk_without_quote_desk_handler(tmp_path):
    text = VALID + "traffic:\n  workflows:\n    - {requester: a@x.beam, desk: b@x.beam}\n"
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "traffic.workflows[0].desk"
    assert problem.message == "expected an agent with handler kind quote-desk, found 'b@x.beam'"


# --- rates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "expected_message"),
    [
        ("-3/s", f"expected {RATE_HINT}, not negative, found '-3/s'"),
        ("-3", f"expected {RATE_HINT}, not negative, found -3"),
    ],
)
def test_negative_rate(tmp_path, rate, expected_message):
    problem = only(problems_of(tmp_path, route(rate=rate)))
    assert problem.field == "traffic.routes[0].rate"
    assert problem.message == expected_message


@pytest.mark.parametrize(("rate", "found"), [("0", "0"), ("0/min", "'0/min'")])
def test_zero_rate(tmp_path, rate, found):
    problem = only(problems_of(tmp_path, route(rate=rate)))
    assert problem.field == "traffic.routes[0].rate"
    assert problem.message == f"expected {RATE_HINT}, greater than zero, found {found}"


@pytest.mark.parametrize("rate", ["fast", "10 per second", "10/fortnight"])
def test_malformed_rate(tmp_path, rate):
    problem = only(problems_of(tmp_path, route(rate=f"'{rate}'")))
    assert problem.field == "traffic.routes[0].rate"
    assert problem.message == f"expected {RATE_HINT}, found {rate!r}"


# --- unknown keys ------------------------------------------------------------------------


def test_unknown_top_level_key(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\ncolour: red\n" + AGENTS))
    assert problem.field == "colour"
    assert problem.message == f"unknown key; expected one of: {SCENARIO_KEYS}"


def test_unknown_nested_key(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\nbus:\n  max_retry: 3\n" + AGENTS))
    assert problem.field == "bus.max_retry"
    assert problem.message == (
        "unknown key; expected one of: rate_limit_per_min, max_retries, worker_interval, "
        "worker_batch, attempt_timeout, retry_policy, ip, retry_budget, circuit_breaker"
    )


def test_unknown_key_in_list_item(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\nagents:\n  - id: a@x.beam\n    latncy: 5ms\n"))
    assert problem.field == "agents[0].latncy"
    assert problem.message == (
        "unknown key; expected one of: id, connected, latency, failure_rate, failure_code, "
        "async_accept, concurrency, handler, ip, verified, tier, age_days, flagged, shield, clock_skew, "
        "client_retry"
    )


# --- durations ---------------------------------------------------------------------------


def test_malformed_duration(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\nduration: 5 minutes\n" + AGENTS))
    assert problem.field == "duration"
    assert problem.message == f"expected {DURATION_HINT}, found '5 minutes'"


def test_negative_duration_number(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\nduration: -5\n" + AGENTS))
    assert problem.field == "duration"
    assert problem.message == f"expected {DURATION_HINT}, not negative, found -5"


def test_negative_duration_string(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\nduration: -5s\n" + AGENTS))
    assert problem.field == "duration"
    assert problem.message == f"expected {DURATION_HINT}, not negative, found '-5s'"


# --- the file itself ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n"])
def test_empty_file(tmp_path, text):
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "(file)"
    assert problem.message == "expected a YAML mapping, found an empty file"


def test_not_yaml_reports_line_and_column(tmp_path):
    # Line 3 is "  duration: 2m"; its ':' is at column 11, where a mapping value is not allowed.
    problem = only(problems_of(tmp_path, "name: demo\nseed: 7\n  duration: 2m\n"))
    assert problem.field == "line 3, column 11"
    assert problem.message == "expected valid YAML, found mapping values are not allowed here"


def test_yaml_list_at_top_level(tmp_path):
    problem = only(problems_of(tmp_path, "- name: t\n- agents: []\n"))
    assert problem.field == "(top level)"
    assert problem.message == "expected a YAML mapping, found list"


def test_nonexistent_file(tmp_path):
    path = tmp_path / "does-not-exist.yaml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    problem = only(caught.value.problems)
    assert problem.line() == f"{path}: (file): expected an existing file, found nothing there"


# --- values ------------------------------------------------------------------------------


def test_beam_id_without_at(tmp_path):
    problem = only(problems_of(tmp_path, "name: t\nagents:\n  - id: nobody\n"))
    assert problem.field == "agents[0].id"
    assert problem.message == "expected a Beam id like name@domain, found 'nobody'"


def test_probability_out_of_range(tmp_path):
    text = "name: t\nagents:\n  - id: a@x.beam\n    failure_rate: 1.5\n"
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "agents[0].failure_rate"
    assert problem.message == "expected less than or equal to 1, found 1.5"


def test_uniform_latency_missing_high(tmp_path):
    text = "name: t\nagents:\n  - id: a@x.beam\n    latency: {dist: uniform, low: 10ms}\n"
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "agents[0].latency"
    assert problem.message == (
        "expected both low and high for dist uniform, found {'dist': 'uniform', 'low': '10ms'}"
    )


def test_unknown_handler_kind(tmp_path):
    text = "name: t\nagents:\n  - id: a@x.beam\n    handler: {kind: bakery}\n"
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "agents[0].handler.kind"
    assert problem.message == "expected a kind among 'quote-desk', 'inventory', found 'bakery'"


def test_handler_without_kind(tmp_path):
    text = "name: t\nagents:\n  - id: a@x.beam\n    handler: {}\n"
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "agents[0].handler.kind"
    assert problem.message == "missing; expected a kind among 'quote-desk', 'inventory'"


def test_daily_profile_with_23_entries(tmp_path):
    text = VALID + "traffic:\n  daily_profile: [" + ", ".join(["1"] * 23) + "]\n"
    problem = only(problems_of(tmp_path, text))
    assert problem.field == "traffic.daily_profile"
    assert problem.message.startswith("expected ")
    assert "24 hourly factors" in problem.message
    assert "not 23" in problem.message
    assert "found [1, 1, 1" in problem.message


# --- several problems at once ------------------------------------------------------------


def test_all_schema_problems_reported_once_each(tmp_path):
    text = (
        "name: t\n"
        "seed: -1\n"
        "duration: soon\n"
        "colour: red\n"
        "agents:\n"
        "  - id: nobody\n"
        "    failure_rate: 2\n"
    )
    problems = problems_of(tmp_path, text)
    assert sorted((p.field, p.message) for p in problems) == sorted(
        [
            ("seed", "expected greater than or equal to 0, found -1"),
            ("duration", f"expected {DURATION_HINT}, found 'soon'"),
            ("colour", f"unknown key; expected one of: {SCENARIO_KEYS}"),
            ("agents[0].id", "expected a Beam id like name@domain, found 'nobody'"),
            ("agents[0].failure_rate", "expected less than or equal to 1, found 2"),
        ]
    )


def test_all_reference_problems_reported_once_each(tmp_path):
    text = (
        "name: t\n"
        "agents:\n"
        "  - id: a@x.beam\n"
        "  - id: b@x.beam\n"
        "acl:\n"
        "  - {target: q@x.beam, intent: ping, allowed_from: '*'}\n"
        "traffic:\n"
        "  routes:\n"
        "    - {from: y@x.beam, to: z@x.beam, intent: ping, rate: 1/s}\n"
    )
    problems = problems_of(tmp_path, text)
    assert [(p.field, p.message) for p in problems] == [
        ("acl[0].target", "expected one of the scenario's agents, found 'q@x.beam'"),
        ("traffic.routes[0].from", "expected one of the scenario's agents, found 'y@x.beam'"),
        ("traffic.routes[0].to", "expected one of the scenario's agents, found 'z@x.beam'"),
    ]


# --- the CLI -----------------------------------------------------------------------------


def _cli_env() -> dict[str, str]:
    # As when stderr goes to a pipe or a log file: no terminal width is given.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["NO_COLOR"] = "1"
    return env


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``beamdrill ARGS`` in this process (see conftest), with the environment of ``_cli_env``."""
    return beamdrill(*args, env={"COLUMNS": None, "LINES": None, "NO_COLOR": "1"}, cwd=cwd)


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``beamdrill ARGS`` through the installed console script, in a new process."""
    return subprocess.run(
        [str(BEAMDRILL), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=_cli_env(),
    )


BAD_FILES = {
    "many.yaml": (
        "name: t\nseed: -1\nduration: soon\ncolour: red\nagents:\n  - id: nobody\n    failure_rate: 2\n",
        5,
    ),
    "refs.yaml": (
        VALID + "traffic:\n  routes:\n    - {from: y@x.beam, to: z@x.beam, intent: ping, rate: 1/s}\n",
        2,
    ),
    "broken.yaml": ("name: demo\nseed: 7\n  duration: 2m\n", 1),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_cli_bad_scenario_exits_2_with_one_line_per_problem(tmp_path, name):
    text, expected_count = BAD_FILES[name]
    path = write(tmp_path, text, name)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    expected_lines = [p.line() for p in caught.value.problems]
    assert len(expected_lines) == expected_count

    out = tmp_path / "out"
    result = run_cli("run", str(path), "--out", str(out), cwd=tmp_path)

    assert result.returncode == 2
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == expected_count, lines
    for line in lines:
        assert line.startswith(f"{path}: "), line
    assert [line.rstrip() for line in lines] == expected_lines
    assert not (out / "result.json").exists()


def test_cli_until_malformed_duration_exits_2_naming_until(tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "run", str(REPO / "scenarios" / "demo.yaml"), "--until", "5minutes", "--out", str(out), cwd=tmp_path
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    assert any(line.startswith("(command line): --until: expected ") for line in result.stderr.splitlines())
    assert not (out / "result.json").exists()


def test_cli_until_problem_is_one_line(tmp_path):
    # Through the real entry point: its exit code and stderr as a shell sees them.
    result = run_script(
        "run", str(REPO / "scenarios" / "demo.yaml"), "--until", "5minutes", "--out", str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert [line.rstrip() for line in result.stderr.splitlines()] == [
        f"(command line): --until: expected {DURATION_HINT}, found '5minutes'"
    ]


# --- bounds on every number a user can type ------------------------------------------------

BOUNDS = {
    "rate far too high": (route(rate="1000000000000/s"),
                          "traffic.routes[0].rate", "expected a rate of at most 10,000/s, found '1000000000000/s'"),
    "rate in exponent form": (route(rate="1e12/s"),
                              "traffic.routes[0].rate", "expected a rate of at most 10,000/s, found '1e12/s'"),
    "rate as a huge number": (route(rate="1.0e+12"),
                              "traffic.routes[0].rate", "expected a rate of at most 10,000/s, found 1000000000000.0"),
    "duration far too long": ("duration: 100000000h\n" + VALID,
                              "duration", "expected a duration of at most 366d (31622400 s), found '100000000h'"),
    "duration infinite": ("duration: .inf\n" + VALID,
                          "duration", "expected a duration of at most 366d (31622400 s), found inf"),
    "duration zero": ("duration: 0\n" + VALID, "duration", "expected greater than 0, found 0"),
    "worker interval zero": (VALID + "bus: {worker_interval: 0s}\n",
                             "bus.worker_interval", "expected greater than 0, found '0s'"),
    "seed beyond 64 bits": ("seed: 18446744073709551616\n" + VALID,
                            "seed", "expected less than or equal to 9223372036854775807, found 18446744073709551616"),
    "concurrency too high": ("name: t\nagents:\n  - {id: a@x.beam, concurrency: 1000000}\n",
                             "agents[0].concurrency", "expected less than or equal to 10000, found 1000000"),
    "burst multiplier too high": (route(name="r") + "  bursts: [{route: r, start: 0s, duration: 1m, "
                                  "multiplier: 1000000}]\n", "traffic.bursts[0].multiplier",
                                  "expected less than or equal to 1000, found 1000000"),
    "workflow count too high": (VALID + "traffic: {workflows: [{count: 1000000}]}\n",
                                "traffic.workflows[0].count", "expected less than or equal to 100000, found 1000000"),
    "fault after the end": ("duration: 2m\n" + VALID + "faults: [{kind: agent_disconnect, agent: a@x.beam, at: 10h}]\n",
                            "faults[0].at", "expected a time within the scenario's duration (120 s), found 36000 s"),
}


@pytest.mark.parametrize("name", BOUNDS)
def test_numbers_are_bounded_and_the_bound_is_named(tmp_path, name):
    text, field, message = BOUNDS[name]
    problem = only(problems_of(tmp_path, text))
    assert (problem.field, problem.message) == (field, message)
