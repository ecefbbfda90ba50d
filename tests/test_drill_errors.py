"""Bad drill files: every problem is one exact line (file, field path, what was expected and
what was found), and ``beamdrill drill check`` exits 2 printing those lines and no traceback.

The report has two stages: schema problems come first, and only a file without any has its
timing, scenario and reference problems checked and reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from typer.testing import CliRunner

from drills.drillfile import probes, schema, steps
from drills.drillfile.builtin import builtin_drills
from drills.cli.app import app
from drills.drillfile.loader import DrillError, load_drill
from simulator.scenario.faults import FAULT_KINDS as FAULT_KIND_NAMES
from simulator.kernel.problems import Problem
from simulator.kernel.units import DURATION_HINT

REPO = Path(__file__).resolve().parents[1]
DEMO = str(REPO / "scenarios" / "demo.yaml")
FINANCE = "finance@acme.beam.directory"
DESK = "partner-desk@northwind.beam.directory"

#: A valid drill on the demo scenario; each case changes one thing.
BASE: dict[str, Any] = {
    "title": "t",
    "rehearses": "dead-letter",
    "scenario": DEMO,
    "duration": "5m",
    "expectations": [{"probe": "dead_letters", "equals": 0, "at": "1m"}],
}


def _quoted(values: tuple[str, ...], last: str) -> str:
    quoted = [f"'{value}'" for value in values]
    return ", ".join(quoted) if not last else ", ".join(quoted[:-1]) + f" {last} " + quoted[-1]


def _tags(union: Any, tag: str) -> tuple[str, ...]:
    members = get_args(get_args(union)[0])
    return tuple(value for member in members for value in get_args(member.model_fields[tag].annotation))


REHEARSES = _quoted(get_args(schema.Rehearses), "or")
PROBE_KINDS = _quoted(_tags(probes.Probe, "probe"), "")
STEP_ACTIONS = _quoted(_tags(steps.Step, "action"), "")
FAULT_KINDS = _quoted(FAULT_KIND_NAMES, "")
DRILL_KEYS = ", ".join(field.alias or name for name, field in schema.Drill.model_fields.items())
DEAD_LETTERS_KEYS = "equals, one_of, at_least, at_most, contains, name, at, by, after, probe, recipient"


def drill(drop: tuple[str, ...] = (), **fields: Any) -> dict[str, Any]:
    """:data:`BASE` without the keys in ``drop``, with ``fields`` added or replaced."""
    return {**{key: value for key, value in BASE.items() if key not in drop}, **fields}


def expect(**fields: Any) -> dict[str, Any]:
    """A drill whose one expectation is ``fields``."""
    return drill(expectations=[fields])


def step(**fields: Any) -> dict[str, Any]:
    """A drill with one operator step ``fields``."""
    return drill(steps=[fields])


FAULT = {"name": "finance offline", "kind": "agent_disconnect", "agent": FINANCE}
NO_WORKFLOWS: dict[str, Any] = {"traffic": {"workflows": []}}


def write(tmp_path: Path, content: dict[str, Any] | str, name: str = "drill.yaml") -> Path:
    """Write a drill (a mapping dumped in its key order, or raw text) into ``tmp_path``."""
    path = tmp_path / name
    text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(DrillError) as caught:
        load_drill(path)
    assert caught.value.problems, "DrillError without problems"
    return caught.value.problems


def lines_of(path: Path) -> list[str]:
    return [problem.line() for problem in problems_of(path)]


# -- sanity: the base drill is valid ---------------------------------------------------------


def test_base_drill_is_valid(tmp_path):
    loaded = load_drill(write(tmp_path, BASE))
    assert (loaded.name, loaded.drill.duration, len(loaded.drill.expectations)) == ("drill", 300.0, 1)


def test_drill_error_message_is_the_problem_lines(tmp_path):
    path = write(tmp_path, drill(drop=("title",)))
    with pytest.raises(DrillError) as caught:
        load_drill(path)
    assert str(caught.value) == f"{path}: title: missing; expected a value"
    assert caught.value.problems == [Problem(file=str(path), field="title", message="missing; expected a value")]


# -- one kind of bad input each: the exact lines ----------------------------------------------

#: name → (drill mapping or raw YAML text, [(field, message), ...] in the order reported)
CASES: dict[str, tuple[dict[str, Any] | str, list[tuple[str, str]]]] = {
    # -- the file itself
    "invalid_yaml_syntax": (
        "title: t\nrehearses: dead-letter\n  scenario: x\n",
        [("line 3, column 11", "expected valid YAML, found mapping values are not allowed here")]),
    "unclosed_flow_list": (
        "title: [t\n",
        [("line 2, column 1", "expected valid YAML, found expected ',' or ']', but got '<stream end>'")]),
    "top_level_list": ("- title: t\n  duration: 5m\n", [("(top level)", "expected a YAML mapping, found list")]),
    "top_level_scalar": ("just a title\n", [("(top level)", "expected a YAML mapping, found str")]),
    "empty_file": ("", [("(file)", "expected a YAML mapping, found an empty file")]),
    "only_comments": ("# a drill, some day\n", [("(file)", "expected a YAML mapping, found an empty file")]),
    # -- top-level fields
    "missing_title": (drill(drop=("title",)), [("title", "missing; expected a value")]),
    "empty_title": (drill(title=""), [("title", "expected string should have at least 1 character, found ''")]),
    "unknown_rehearses": (drill(rehearses="meteor"), [("rehearses", f"expected {REHEARSES}, found 'meteor'")]),
    "unknown_top_level_key_typo_expectation": (
        drill(drop=("expectations",), expectation=BASE["expectations"]),
        [("expectations", "missing; expected a value"),
         ("expectation", f"unknown key; expected one of: {DRILL_KEYS}")]),
    "expectations_missing": (drill(drop=("expectations",)), [("expectations", "missing; expected a value")]),
    "expectations_empty": (
        drill(expectations=[]),
        [("expectations", "expected at least 1 item, found []")]),
    "expectations_a_mapping": (
        drill(expectations={"probe": "dead_letters"}),
        [("expectations", "expected a list, found {'probe': 'dead_letters'}")]),
    "bad_duration_string": (
        drill(duration="10 parsecs"), [("duration", f"expected {DURATION_HINT}, found '10 parsecs'")]),
    "negative_duration": (
        drill(duration="-5m"), [("duration", f"expected {DURATION_HINT}, not negative, found '-5m'")]),
    "negative_seed": (drill(seed=-1), [("seed", "expected greater than or equal to 0, found -1")]),
    "seed_not_an_integer": (
        drill(seed="abc"), [("seed", "expected a whole number, found 'abc'")]),
    "zero_guard_interval": (drill(guard_interval=0), [("guard_interval", "expected a positive duration, found 0 s")]),
    "overrides_not_a_mapping": (drill(overrides=[1]), [("overrides", "expected a mapping (key: value lines), found [1]")]),
    "unknown_steady_state_key": (
        drill(steady_state={"befor": []}), [("steady_state.befor", "unknown key; expected one of: before, after")]),
    # -- probes
    "unknown_probe_kind": (
        expect(probe="vibes", equals=0, at="1m"),
        [("expectations[0].probe", f"expected a kind among {PROBE_KINDS}, found 'vibes'")]),
    "unknown_probe_kind_after_a_long_name": (
        expect(name="preflight dead-lettered in good time", probe="vibes", equals=0, at="1m"),
        [("expectations[0].probe", f"expected a kind among {PROBE_KINDS}, found 'vibes'")]),
    "probe_without_probe_key": (
        expect(equals=0, at="1m"), [("expectations[0].probe", f"missing; expected a kind among {PROBE_KINDS}")]),
    "unknown_probe_kind_in_the_steady_state": (
        drill(steady_state={"before": [{"probe": "vibes", "equals": 0}]}),
        [("steady_state.before[0].probe", f"expected a kind among {PROBE_KINDS}, found 'vibes'")]),
    "unknown_probe_key": (
        expect(probe="dead_letters", equals=0, at="1m", colour="red"),
        [("expectations[0].colour", f"unknown key; expected one of: {DEAD_LETTERS_KEYS}")]),
    "probe_without_comparison": (
        expect(probe="dead_letters", at="1m"),
        [("expectations[0]", "expected one of equals, one_of, at_least, at_most, contains: what the observed value "
                             "must be, found {'probe': 'dead_letters', 'at': '1m'}")]),
    "probe_with_equals_and_contains": (
        expect(probe="dead_letters", equals=0, contains="x", at="1m"),
        [("expectations[0]",
          "expected one comparison (at_least with at_most is the one pair), found equals, contains")]),
    "probe_with_one_of_and_at_least": (
        expect(probe="dead_letters", one_of=[0], at_least=0, at="1m"),
        [("expectations[0]",
          "expected one comparison (at_least with at_most is the one pair), found one_of, at_least")]),
    "comparison_of_the_wrong_type": (
        expect(probe="dead_letters", at_least="lots", at="1m"),
        [("expectations[0].at_least", "expected a number, found 'lots'")]),
    "unknown_workflow_field": (
        expect(probe="workflow", field="price", equals=1, at="1m"),
        [("expectations[0].field", "expected 'quote_status', 'quote_http_status', 'quote_error_code', "
                                   "'total_price_eur', 'inventory_status', 'available', 'preflight_bus_status', "
                                   "'preflight_directory_status', 'preflight_http_status', 'finance_received', "
                                   "'acknowledgement' or 'terminal', found 'price'")]),
    "negative_workflow_run": (
        expect(probe="trace_status", nonce="n1", run=-1, equals="acked", at="1m"),
        [("expectations[0].run", "expected greater than or equal to 0, found -1")]),
    "malformed_inbox_item_key_in_a_probe": (
        expect(probe="inbox_item", key="alert:foo", equals="new", at="1m"),
        [("expectations[0].key", "expected an inbox item key like critical-alert:<alert id> or "
                                 "beta-request:<request id>, found 'alert:foo'")]),
    "probe_with_nonce_and_step": (
        expect(probe="trace_status", nonce="n1", step="quote", equals="acked", at="1m"),
        [("expectations[0]", "expected either nonce or step (quote, inventory, preflight), exactly one, found "
                             "{'probe': 'trace_status', 'nonce': 'n1', 'step': 'quote',...")]),
    "step_probe_without_a_quote_workflow": (
        drill(overrides=NO_WORKFLOWS, expectations=[{"probe": "trace_status", "step": "quote", "equals": "acked",
                                                     "at": "1m"}]),
        [("expectations[0].step", "expected a scenario with a quote workflow, found none: use nonce")]),
    # -- timing of probes
    "at_and_by_together": (
        expect(probe="dead_letters", equals=0, at="1m", by="2m"),
        [("expectations[0]", "expected either at (check once) or by (a deadline), not both, found "
                             "{'probe': 'dead_letters', 'equals': 0, 'at': '1m', 'by': ...")]),
    "by_earlier_than_after": (
        expect(probe="dead_letters", equals=0, after="2m", by="1m"),
        [("expectations[0]", "expected by ≥ after, found by 60 s before after 120 s")]),
    "expectation_with_neither_at_nor_by": (
        expect(probe="dead_letters", equals=0),
        [("expectations[0]", "expected at (check once) or by (a deadline), found neither")]),
    "expectation_with_only_after": (
        expect(probe="dead_letters", equals=0, after="1m"),
        [("expectations[0]", "expected at (check once) or by (a deadline), found neither")]),
    "after_with_at": (
        expect(probe="dead_letters", equals=0, after="30s", at="1m"),
        [("expectations[0].after", "expected after only with by: a probe checked at one time has no window")]),
    "after_with_at_beyond_duration": (
        expect(probe="dead_letters", equals=0, after="30s", at="10m"),
        [("expectations[0].after", "expected after only with by: a probe checked at one time has no window"),
         ("expectations[0].at", "expected a time within the drill's duration (300 s), found 600 s")]),
    "expectation_at_beyond_duration": (
        expect(probe="dead_letters", equals=0, at="10m"),
        [("expectations[0].at", "expected a time within the drill's duration (300 s), found 600 s")]),
    "expectation_by_beyond_duration": (
        expect(probe="dead_letters", equals=0, by="1h"),
        [("expectations[0].by", "expected a time within the drill's duration (300 s), found 3600 s")]),
    "steady_state_probe_with_at": (
        drill(steady_state={"before": [{"probe": "dead_letters", "equals": 0, "at": "1m"}]}),
        [("steady_state.before[0]", "expected no at or by: this probe is checked when its phase comes")]),
    "guard_with_by": (
        drill(guards=[{"probe": "invariant", "equals": "held", "by": "1m"}]),
        [("guards[0]", "expected no at or by: this probe is checked when its phase comes")]),
    # -- steps and rollbacks
    "unknown_step_action": (
        step(action="panic", at="1m"), [("steps[0].action", f"expected a kind among {STEP_ACTIONS}, found 'panic'")]),
    "step_without_action_key": (
        step(at="1m", item="critical-alert:x"),
        [("steps[0].action", f"missing; expected a kind among {STEP_ACTIONS}")]),
    "unknown_rollback_action": (
        drill(rollbacks=[{"action": "panic"}]),
        [("rollbacks[0].action", f"expected a kind among {STEP_ACTIONS}, found 'panic'")]),
    "malformed_inbox_item_key_in_a_step": (
        step(action="acknowledge", item="alert:foo", at="1m"),
        [("steps[0].item", "expected an inbox item key like critical-alert:<alert id> or "
                           "beta-request:<request id>, found 'alert:foo'")]),
    "malformed_nonce_prefix": (
        step(action="send", **{"from": DESK}, to=FINANCE, intent="ping", nonce_prefix="a b", at="1m"),
        [("steps[0].nonce_prefix", "expected text matching ^[A-Za-z0-9._:-]+$, found 'a b'")]),
    "send_from_a_malformed_beam_id": (
        step(action="send", **{"from": "desk"}, to=FINANCE, intent="ping", at="1m"),
        [("steps[0].from", "expected a Beam id like name@domain, found 'desk'")]),
    "step_without_at": (
        step(action="requeue_dead_letters"),
        [("steps[0].at", "missing; expected the virtual time the step is played at")]),
    "step_at_beyond_duration": (
        step(action="requeue_dead_letters", at="10m"),
        [("steps[0].at", "expected a time within the drill's duration (300 s), found 600 s")]),
    "rollback_with_at": (
        drill(rollbacks=[{"action": "requeue_dead_letters", "at": "1m"}]),
        [("rollbacks[0].at", "expected no at: rollbacks run in order when the method ends")]),
    "unknown_prune_dataset": (
        step(action="prune", dataset="everything", at="1m"),
        [("steps[0].dataset", "expected 'intents', 'traces', 'audit' or 'shield', found 'everything'")]),
    "export_of_no_datasets": (
        step(action="export_evidence", datasets=[], at="1m"),
        [("steps[0].datasets", "expected at least 1 item, found []")]),
    "fix_root_cause_of_an_unknown_fault": (
        drill(faults=[FAULT], steps=[{"action": "fix_root_cause", "fault": "nope", "at": "1m"}]),
        [("steps[0].fault", "expected the name of one of the drill's faults ['finance offline'], found 'nope'")]),
    "fix_root_cause_in_a_drill_without_faults": (
        step(action="fix_root_cause", fault="nope", at="1m"),
        [("steps[0].fault", "expected the name of one of the drill's faults [], found 'nope'")]),
    "send_from_an_unknown_agent": (
        step(action="send", **{"from": "z@x.beam"}, to=FINANCE, intent="ping", at="1m"),
        [("steps[0].from", "expected one of the scenario's agents, found 'z@x.beam'")]),
    "send_to_an_unknown_agent": (
        step(action="send", **{"from": DESK}, to="y@x.beam", intent="ping", at="1m"),
        [("steps[0].to", "expected one of the scenario's agents, found 'y@x.beam'")]),
    "acl_entry_for_an_unknown_agent": (
        step(action="add_acl_entry", target="ghost@x.beam", intent="ping", allowed_from="*", at="1m"),
        [("steps[0].target", "expected one of the scenario's agents, found 'ghost@x.beam'")]),
    "requeue_for_an_unknown_recipient": (
        step(action="requeue_dead_letters", recipient="ghost@x.beam", at="1m"),
        [("steps[0].recipient", "expected one of the scenario's agents, found 'ghost@x.beam'")]),
    "send_without_from": (
        step(action="send", to=FINANCE, intent="ping", at="1m"), [("steps[0].from", "missing; expected a value")]),
    "partner_request_patching_the_email": (
        step(action="partner_request", email="a@b.example", patch={"email": "c@d.example"}, at="1m"),
        [("steps[0].patch.email", "unknown key; the email is the step's own field")]),
    "partner_request_proof_from_a_step_without_a_quote_workflow": (
        drill(overrides=NO_WORKFLOWS, steps=[{"action": "partner_request", "email": "a@b.example",
                                              "patch": {"proofIntentNonce": "step:preflight"}, "at": "1m"}]),
        [("steps[0].patch.proofIntentNonce",
          "expected a scenario with a quote workflow for 'step:preflight', found none: use a nonce")]),
    "partner_request_rollback_proof_from_a_step_without_a_quote_workflow": (
        drill(overrides=NO_WORKFLOWS, rollbacks=[{"action": "partner_request", "email": "a@b.example",
                                                  "patch": {"proofIntentNonce": "step:quote"}}]),
        [("rollbacks[0].patch.proofIntentNonce",
          "expected a scenario with a quote workflow for 'step:quote', found none: use a nonce")]),
    "partner_request_proof_from_an_unknown_step": (
        step(action="partner_request", email="a@b.example", patch={"proofIntentNonce": "step:meteor"}, at="1m"),
        [("steps[0].patch.proofIntentNonce",
          "expected step:quote, step:inventory or step:preflight, found 'step:meteor'")]),
    # -- faults
    "two_faults_with_the_same_name": (
        drill(faults=[FAULT, {**FAULT, "kind": "agent_errors"}]),
        [("faults[0].name", "expected a unique fault name, found 'finance offline' 2 times"),
         ("faults[1].name", "expected a unique fault name, found 'finance offline' 2 times")]),
    "fault_on_an_agent_the_scenario_lacks": (
        drill(faults=[{**FAULT, "agent": "z@x.beam"}]),
        [("faults[0].agent", "expected one of the scenario's agents, found 'z@x.beam'")]),
    "fault_at_beyond_duration": (
        drill(faults=[{**FAULT, "at": "10m"}]),
        [("faults[0].at", "expected a time within the drill's duration (300 s), found 600 s")]),
    "unknown_fault_kind": (
        drill(faults=[{**FAULT, "kind": "meteor"}]),
        [("faults[0].kind", f"expected a kind among {FAULT_KINDS}, found 'meteor'")]),
    "fault_without_kind": (
        drill(faults=[{"name": "finance offline", "agent": FINANCE}]),
        [("faults[0].kind", f"missing; expected a kind among {FAULT_KINDS}")]),
    "fault_added_by_overrides": (
        drill(overrides={"faults": [{"kind": "agent_disconnect", "agent": "z@x.beam"}]}),
        [("overrides → faults[0].agent",
          f"expected one of the scenario's agents, found 'z@x.beam' (in {DEMO} after the overrides)")]),
    "fault_of_unknown_kind_added_by_overrides": (
        drill(overrides={"faults": [{"kind": "meteor"}]}),
        [("overrides → faults[0].kind",
          f"expected a kind among {FAULT_KINDS}, found 'meteor' (in {DEMO} after the overrides)")]),
    "drill_fault_after_faults_in_overrides": (
        drill(overrides={"faults": [{"kind": "bus_restart", "at": 1}]}, faults=[{**FAULT, "agent": "z@x.beam"}]),
        [("faults[0].agent", "expected one of the scenario's agents, found 'z@x.beam'")]),
    "bad_faults_in_overrides_and_in_the_drill": (
        drill(overrides={"faults": [{"kind": "agent_disconnect", "agent": "z@x.beam"}]},
              faults=[{**FAULT, "agent": "q@x.beam"}]),
        [("overrides → faults[0].agent",
          f"expected one of the scenario's agents, found 'z@x.beam' (in {DEMO} after the overrides)"),
         ("faults[0].agent", "expected one of the scenario's agents, found 'q@x.beam'")]),
    "drill_fault_named_like_a_fault_the_overrides_add": (
        drill(overrides={"faults": [{"name": "finance offline", "kind": "bus_restart", "at": 1}]}, faults=[FAULT]),
        [("faults[0].name", "expected a name no scenario fault has, found 'finance offline'")]),
    # -- the scenario and its overrides
    "missing_scenario_file": (
        drill(scenario="/nonexistent/beamdrill/nope.yaml"),
        [("scenario", "expected a readable scenario file: /nonexistent/beamdrill/nope.yaml: (file): expected an "
                      "existing file, found nothing there")]),
    "override_of_the_wrong_type": (
        drill(overrides={"agents": [{"id": FINANCE, "connected": "maybe"}]}),
        # finance is the demo's fourth agent: the path is the merged scenario's, as the message says
        [("overrides → agents[3].connected", "expected a valid boolean, unable to interpret input, found 'maybe' "
                                             f"(in {DEMO} after the overrides)")]),
    "override_with_an_unknown_key": (
        drill(overrides={"colour": "red"}),
        [("overrides → colour", "unknown key; expected one of: name, description, seed, duration, epoch, bus, "
                                "directory, retention, backups, agents, acl, traffic, faults, fidelity, quirks, tenants, "
                                "slos, "
                                f"capabilities, operations, partner_requests (in {DEMO} after the overrides)")]),
    "override_making_the_seed_negative": (
        drill(overrides={"seed": -1}),
        [("overrides → seed", f"expected greater than or equal to 0, found -1 (in {DEMO} after the overrides)")]),
    # -- several problems in one file: one line each, in order
    "several_schema_problems": (
        {"rehearses": "meteor", "scenario": DEMO, "duration": "5m", "colour": "red",
         "expectations": [{"probe": "dead_letters", "at": "1m"}], "steps": [{"action": "panic"}]},
        # the schema's field order, then unknown keys
        [("title", "missing; expected a value"),
         ("rehearses", f"expected {REHEARSES}, found 'meteor'"),
         ("steps[0].action", f"expected a kind among {STEP_ACTIONS}, found 'panic'"),
         ("expectations[0]", "expected one of equals, one_of, at_least, at_most, contains: what the observed value "
                             "must be, found {'probe': 'dead_letters', 'at': '1m'}"),
         ("colour", f"unknown key; expected one of: {DRILL_KEYS}")]),
    "several_timing_problems": (
        drill(steps=[{"action": "requeue_dead_letters"}, {"action": "requeue_dead_letters", "at": "1h"}],
              rollbacks=[{"action": "requeue_dead_letters", "at": "1m"}],
              expectations=[{"probe": "dead_letters", "equals": 0}]),
        [("steps[0].at", "missing; expected the virtual time the step is played at"),
         ("steps[1].at", "expected a time within the drill's duration (300 s), found 3600 s"),
         ("rollbacks[0].at", "expected no at: rollbacks run in order when the method ends"),
         ("expectations[0]", "expected at (check once) or by (a deadline), found neither")]),
    "several_reference_problems": (
        drill(faults=[FAULT], steps=[{"action": "fix_root_cause", "fault": "nope", "at": "1m"},
                                     {"action": "send", "from": "z@x.beam", "to": "y@x.beam", "intent": "ping",
                                      "at": "2m"}]),
        [("steps[0].fault", "expected the name of one of the drill's faults ['finance offline'], found 'nope'"),
         ("steps[1].from", "expected one of the scenario's agents, found 'z@x.beam'"),
         ("steps[1].to", "expected one of the scenario's agents, found 'y@x.beam'")]),
    "timing_and_scenario_problems": (
        drill(faults=[{**FAULT, "agent": "z@x.beam"}], steps=[{"action": "requeue_dead_letters"}]),
        [("steps[0].at", "missing; expected the virtual time the step is played at"),
         ("faults[0].agent", "expected one of the scenario's agents, found 'z@x.beam'")]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_drill_is_reported_line_by_line(tmp_path, name):
    content, expected = CASES[name]
    path = write(tmp_path, content)
    assert lines_of(path) == [f"{path}: {field}: {message}" for field, message in expected]


def test_missing_drill_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    assert lines_of(path) == [f"{path}: (file): expected an existing file, found nothing there"]


def test_a_relative_scenario_is_found_next_to_the_drill(tmp_path):
    path = write(tmp_path, drill(scenario="nope.yaml"))
    assert lines_of(path) == [f"{path}: scenario: expected a readable scenario file: {tmp_path / 'nope.yaml'}: "
                              "(file): expected an existing file, found nothing there"]


def test_a_scenario_wrong_by_itself_is_reported_against_scenario(tmp_path):
    scenario = write(tmp_path, "name: s\nseed: -3\nagents: []\n", "scenario.yaml")
    path = write(tmp_path, drill(scenario="scenario.yaml"))
    assert lines_of(path) == [
        f"{path}: scenario: {scenario}: seed: expected greater than or equal to 0, found -3",
        f"{path}: scenario: {scenario}: agents: expected at least 1 item, found []",
    ]


# -- what the loader checks in which stage, and faults named like the scenario's ------------------


def test_schema_and_timing_problems_together(tmp_path):
    """Schema problems come first: a file with any has only those reported, and its timing,
    scenario and reference problems are checked (and reported) once the schema ones are fixed."""
    path = write(tmp_path, drill(rehearses="meteor", steps=[{"action": "requeue_dead_letters"}]))
    assert lines_of(path) == [f"{path}: rehearses: expected {REHEARSES}, found 'meteor'"]
    path = write(tmp_path, drill(steps=[{"action": "requeue_dead_letters"}]))
    assert lines_of(path) == [f"{path}: steps[0].at: missing; expected the virtual time the step is played at"]


def test_drill_fault_named_like_a_scenario_fault(tmp_path):
    write(tmp_path, "name: s\nagents:\n  - id: a@x.beam\nfaults:\n"
                    "  - {name: f1, kind: agent_disconnect, agent: a@x.beam, at: 1}\n", "scenario.yaml")
    path = write(tmp_path, drill(scenario="scenario.yaml", faults=[{"name": "f1", "kind": "agent_disconnect",
                                                                    "agent": "a@x.beam", "at": 2}],
                                 steps=[{"action": "fix_root_cause", "fault": "f1", "at": "1m"}]))
    assert lines_of(path) == [f"{path}: faults[0].name: expected a name no scenario fault has, found 'f1'"]


# -- the CLI: beamdrill drill check ----------------------------------------------------------------

CLI_CASES = ("missing_title", "missing_scenario_file", "several_schema_problems")


@pytest.mark.parametrize("name", CLI_CASES)
def test_drill_check_exits_2_with_the_problem_lines(tmp_path, name):
    content, expected = CASES[name]
    path = write(tmp_path, content)
    result = CliRunner().invoke(app, ["drill", "check", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}: {field}: {message}" for field, message in expected]


def test_drill_check_reports_every_file(tmp_path):
    bad = write(tmp_path, CASES["missing_title"][0], "bad.yaml")
    good = write(tmp_path, BASE, "good.yaml")
    missing = tmp_path / "missing.yaml"
    result = CliRunner().invoke(app, ["drill", "check", str(bad), str(good), str(missing)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.splitlines() == [f"{bad}: title: missing; expected a value",
                                          f"{missing}: (file): expected an existing file, found nothing there"]


#: drill fields added to :data:`BASE` → the counts its ok line gives
OK_COUNTS: dict[str, tuple[dict[str, Any], str]] = {
    "none": ({}, "0 faults, 0 steps, 1 expectation"),
    "one_each": ({"faults": [FAULT], "steps": [{"action": "requeue_dead_letters", "at": "1m"}]},
                 "1 fault, 1 step, 1 expectation"),
    "two_each": ({"faults": [FAULT, {**FAULT, "name": "finance erroring", "kind": "agent_errors"}],
                  "steps": [{"action": "requeue_dead_letters", "at": "1m"},
                            {"action": "requeue_dead_letters", "at": "2m"}],
                  "expectations": [{"probe": "dead_letters", "equals": 0, "at": "1m"},
                                   {"probe": "dead_letters", "equals": 0, "by": "2m"}]},
                 "2 faults, 2 steps, 2 expectations"),
}


@pytest.mark.parametrize("name", list(OK_COUNTS))
def test_drill_check_prints_one_plain_ok_line(tmp_path, name):
    fields, counts = OK_COUNTS[name]
    folder = tmp_path / ("a-rather-long-folder-name-" * 4)  # longer than a narrow terminal: never wrapped
    folder.mkdir()
    path = write(folder, drill(**fields))
    result = CliRunner().invoke(app, ["drill", "check", str(path)], env={"COLUMNS": "40"})
    assert (result.exit_code, result.stderr) == (0, ""), result.output
    assert result.stdout == f"{path}: ok (dead-letter, {counts})\n"


@pytest.mark.parametrize("path", builtin_drills(), ids=lambda path: path.stem)
def test_every_builtin_drill_passes_check(path):
    result = CliRunner().invoke(app, ["drill", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert result.stdout.startswith(f"{path}: ok (") and result.stdout.endswith(")\n"), result.stdout
