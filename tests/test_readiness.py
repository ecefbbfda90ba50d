"""Launch readiness in the scenario: SLOs, the capability template, the operations block and
partner requests with go-live plans; optional, left out of a resolved scenario while empty;
the world records a plan's open prerequisites on the request."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator import ScenarioError, World, load_scenario, parse_scenario
from simulator.operator.partners import PREREQUISITES
from simulator.scenario.readiness import PREREQUISITE_ACTIONS, GoLivePlan, GoLiveWindow, missing_prerequisites

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "drills" / "gate" / "examples"


def test_a_scenario_without_readiness_resolves_as_before() -> None:
    resolved = load_scenario(ROOT / "scenarios" / "demo.yaml").model_dump(mode="json", by_alias=True)
    assert not {"slos", "capabilities", "operations", "partner_requests"} & set(resolved)


def test_a_declared_readiness_round_trips() -> None:
    scenario = load_scenario(EXAMPLES / "launch-ready.yaml")
    resolved = scenario.model_dump(mode="json", by_alias=True)
    assert [slo["name"] for slo in resolved["slos"]] == ["quote-availability", "quote-latency"]
    assert resolved["operations"] == {"oncall_owner": "dana", "escalation": "#beam-oncall"}
    assert parse_scenario(resolved) == scenario


def test_the_prerequisites_are_beams_six() -> None:
    assert tuple(PREREQUISITE_ACTIONS) == PREREQUISITES


PLAN_FIELDS = {
    "workflow_owner_confirmed": {"workflow_owner": "Priya"},
    "sender_receiver_confirmed": {"sender": "a@x.beam", "receiver": "b@x.beam"},
    "success_metric_confirmed": {"success_metric": "quotes within 5 s"},
    "security_review_confirmed": {"security_review": "Sam, 2026-03-30"},
    "go_live_window_confirmed": {"window": GoLiveWindow(owner="dana", date="2026-04-03", rollback_path="revoke")},
    "proof_recipients_confirmed": {"proof_recipients": ["p@acme.example"]},
}


@given(st.sets(st.sampled_from(sorted(PLAN_FIELDS))))
def test_exactly_the_unanswered_prerequisites_are_missing(answered: set[str]) -> None:
    plan = GoLivePlan(**{name: value for key in answered for name, value in PLAN_FIELDS[key].items()})
    assert missing_prerequisites(plan) == [key for key in PREREQUISITES if key not in answered]


def test_a_half_answered_window_or_pair_is_missing() -> None:
    plan = GoLivePlan(sender="a@x.beam", window=GoLiveWindow(owner="dana", date="2026-04-03"))
    assert {"sender_receiver_confirmed", "go_live_window_confirmed"} <= set(missing_prerequisites(plan))


def test_the_world_records_open_prerequisites_on_the_request() -> None:
    world = World(load_scenario(EXAMPLES / "launch-blocked.yaml"))
    world.run()
    [(request, spec)] = world.partner_request_plans()
    assert (request.email, request.owner, request.blocked_prerequisites, request.next_action) == (
        "pilot@acme.example", "dana", ("security_review_confirmed",), "Complete the security review")
    assert spec.go_live.next_decision == "expand"
    audit = [row for row in world.audit_rows() if row.action == "admin.beta_request.updated"]
    assert [(row.time, row.details["actor"]) for row in audit] == [(0.0, "go-live-checklist")]


def test_a_ready_request_says_go_live_next() -> None:
    world = World(load_scenario(EXAMPLES / "launch-ready.yaml"))
    world.run(until=1)
    [(request, _)] = world.partner_request_plans()
    assert (request.blocked_prerequisites, request.next_action) == ((), "Go live in the confirmed window")


BASE = ("name: t\nagents:\n  - id: a@x.beam\n  - id: b@x.beam\n")


@pytest.mark.parametrize(("extra", "line"), [
    ("slos:\n  - {name: l, kind: latency, objective: 0.99}\n",
     "slos[0]: latency objective 'l' needs a latency_threshold"),
    ("slos:\n  - {name: a, kind: availability, objective: 0.999, latency_threshold: 1s}\n",
     "slos[0]: availability objective 'a' takes no latency_threshold"),
    ("slos:\n  - {name: a, kind: availability, objective: 1}\n", "slos[0].objective: expected less than 1"),
    ("slos:\n  - name: a\n    kind: availability\n    objective: 0.9\n"
     "    burn_rate_alerts: [{long_window: 5m, short_window: 1h, factor: 14.4}]\n",
     "slos[0].burn_rate_alerts[0]: expected short_window shorter than long_window, found 3600 s and 300 s"),
    ("capabilities:\n  - {agent: c@x.beam, capability: ping}\n",
     "capabilities[0].agent: expected one of the scenario's agents, found 'c@x.beam'"),
    ("capabilities:\n  - {agent: a@x.beam, capability: ping, transport: carrier-pigeon}\n",
     "capabilities[0].transport: expected 'ws', 'http', 'bus' or 'direct'"),
    ("partner_requests:\n  - {email: p@acme.example, go_live: {sender: c@x.beam}}\n",
     "partner_requests[0].go_live.sender: expected one of the scenario's agents, found 'c@x.beam'"),
    ("partner_requests:\n  - {email: nobody}\n", "partner_requests[0].email: expected"),
    ("operations: {oncall: dana}\n", "operations.oncall: unknown key"),
])
def test_bad_readiness_is_one_line(tmp_path: Path, extra: str, line: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(BASE + extra)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    [problem] = raised.value.problems
    assert problem.line().startswith(f"{path}: {line}")
