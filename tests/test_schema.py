"""``beamdrill schema scenario|drill``: JSON Schemas generated from the models that validate
scenario and drill files, which every built-in file passes (checked with ``jsonschema``, as
an editor's YAML language server would) and which catch the mistakes an editor should flag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator

from conftest import beamdrill
from drills.drillfile.builtin import builtin_drills, builtin_scenarios
from drills.drillfile.editorschema import json_schema
from drills.runs.files import json_text


def emitted(kind: str) -> dict[str, Any]:
    """The schema ``beamdrill schema KIND`` prints."""
    done = beamdrill("schema", kind)
    assert (done.returncode, done.stderr) == (0, "")
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.fixture(scope="module")
def validators() -> dict[str, Draft202012Validator]:
    return {kind: Draft202012Validator(emitted(kind)) for kind in ("scenario", "drill")}


def problems(validator: Draft7Validator | Draft202012Validator, document: Any) -> list[str]:
    return sorted(f"{'.'.join(map(str, error.absolute_path))}: {error.validator}"
                  for error in validator.iter_errors(document))


@pytest.mark.parametrize("kind", ["scenario", "drill"])
def test_the_schema_is_valid_json_schema_and_names_its_dialect(kind: str) -> None:
    done = beamdrill("schema", kind)
    assert done.stdout == json_text(json_schema(kind))
    schema = json.loads(done.stdout)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == kind.capitalize() and schema["additionalProperties"] is False


@pytest.mark.parametrize("path", builtin_scenarios(), ids=lambda path: path.stem)
def test_every_built_in_scenario_validates(validators: dict[str, Draft202012Validator], path: Path) -> None:
    assert problems(validators["scenario"], yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("path", builtin_drills(), ids=lambda path: path.stem)
def test_every_built_in_drill_validates(validators: dict[str, Draft202012Validator], path: Path) -> None:
    assert problems(validators["drill"], yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("kind, paths", [("scenario", builtin_scenarios()), ("drill", builtin_drills())])
def test_the_schema_reads_the_same_under_draft_7(kind: str, paths: list[Path]) -> None:
    """YAML language servers validate with draft-7 semantics: the schema uses nothing newer."""
    validator = Draft7Validator({key: value for key, value in emitted(kind).items() if key != "$schema"})
    assert [problems(validator, yaml.safe_load(path.read_text())) for path in paths] == [[] for _ in paths]
    assert problems(validator, {"title": "t", "rehearses": "x", "duration": "soon"} if kind == "drill" else
                    {"name": "s", "duraton": 1, "agents": [{"id": "x", "latency": "fast"}]}) == (
        [": required", ": required", "duration: anyOf", "rehearses: enum"] if kind == "drill" else
        [": additionalProperties", "agents.0.id: pattern", "agents.0.latency: anyOf"])


def test_there_are_built_in_files_to_validate() -> None:
    assert [path.stem for path in builtin_scenarios()] == ["canary-day", "demo", "partner-day", "partner-incident"]
    assert len(builtin_drills()) == 11


def test_the_scenario_schema_flags_what_an_editor_should(validators: dict[str, Draft202012Validator]) -> None:
    scenario = {"name": "s", "duration": "2m", "agents": [{"id": "a@x.beam", "latency": "40ms"},
                                                           {"id": "b@x.beam", "latency": {"dist": "fixed", "mean": 1}}],
                "traffic": {"routes": [{"from": "a@x.beam", "to": "b@x.beam", "intent": "agent.ping",
                                        "rate": "30/min"}]},
                "faults": [{"kind": "directory_restart", "at": "1m", "downtime": "20s"}]}
    assert problems(validators["scenario"], scenario) == []
    broken = {**scenario, "duraton": "2m", "agents": [{"id": "not-a-beam-id", "latency": "fast"}],
              "traffic": {"routes": [{"from": "a@x.beam", "to": "b@x.beam", "intent": "agent.ping",
                                      "rate": "often"}]},
              "faults": [{"kind": "directory_reboot", "at": "1m"}]}
    assert problems(validators["scenario"], broken) == [
        ": additionalProperties", "agents.0.id: pattern", "agents.0.latency: anyOf", "faults.0: oneOf",
        "traffic.routes.0.rate: anyOf"]


def test_the_drill_schema_flags_what_an_editor_should(validators: dict[str, Draft202012Validator]) -> None:
    drill = {"title": "t", "rehearses": "dead-letter", "scenario": "../scenarios/demo.yaml", "duration": "20m",
             "steps": [{"action": "requeue_dead_letters", "at": "15m"}],
             "expectations": [{"probe": "dead_letters", "equals": 0, "by": "16m"}]}
    assert problems(validators["drill"], drill) == []
    broken = {**drill, "rehearses": "dead-letters", "steps": [{"action": "requeue", "at": "15m"}],
              "expectations": [{"probe": "dead_letters", "equals": 0, "by": "soon"}]}
    # A tagged union (probe:, action:) is a oneOf: a bad member is flagged on the item itself.
    assert problems(validators["drill"], broken) == ["expectations.0: oneOf", "rehearses: enum", "steps.0: oneOf"]


def test_an_unknown_kind_is_one_line_and_exit_2() -> None:
    done = beamdrill("schema", "runbook")
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "(command line): KIND: expected one of scenario, drill, found 'runbook'\n")


def test_the_scenario_schema_knows_retry_presets_budgets_and_breakers(
        validators: dict[str, Draft202012Validator]) -> None:
    base = {"name": "s", "agents": [{"id": "a@x.beam"}]}
    good = [{"retry_policy": "beam"}, {"retry_policy": "full_jitter"},
            {"retry_policy": {"preset": "decorrelated_jitter", "base": "1s", "cap": "1m", "max_retries": 5,
                              "multiplier": 3}},
            {"retry_budget": {"percent_can_retry": 0.2, "min_retries_per_sec": 10, "ttl": "10s"},
             "circuit_breaker": {"failure_rate_threshold": 50, "wait_duration_in_open_state": "1m"}}]
    assert [problems(validators["scenario"], {**base, "bus": bus}) for bus in good] == [[], [], [], []]
    bad = [{"retry_policy": "jittery"}, {"retry_policy": {"preset": "none", "base": 1}},
           {"retry_policy": {"preset": "fixed", "max_retries": "many"}}, {"retry_budget": {"percent": 1}},
           {"circuit_breaker": {"window": 3}}]
    assert [problems(validators["scenario"], {**base, "bus": bus}) for bus in bad] == [
        ["bus.retry_policy: anyOf"], ["bus.retry_policy: anyOf"], ["bus.retry_policy: anyOf"],
        ["bus.retry_budget: anyOf"], ["bus.circuit_breaker: anyOf"]]
