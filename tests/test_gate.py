"""``beamdrill gate``: the built-in examples (one ready, one blocked for three named reasons)
on evidence the test produces (runs of the example scenarios, the built-in drills, a canary
result in the agreed shape), and each check on crafted evidence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import beamdrill
from drills.gate import evaluate_gate, load_policy
from drills.gate.policy import GatePolicy
from simulator import load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "drills" / "gate" / "examples"
POLICY = EXAMPLES / "policy.yaml"
#: A canary's result.json as beamdrill canary writes it, the fields the gate reads (README: "The readiness gate").
CANARY: dict[str, Any] = {
    "decision": "Failed", "rollback": {"completed_within_5_minutes": True, "seconds": 95.0},
    "rollout": {"max_tenant_exposure_pct": 5.0, "steps": [{"action": "shadow", "duration": 600.0},
                                                          {"action": "canary", "weight": 5.0},
                                                          {"action": "canary", "weight": 25.0}]}}


def write_canary(directory: Path, document: dict[str, Any] = CANARY) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "result.json").write_text(json.dumps(document))
    return directory


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both example scenarios run with events and traces, the ready one also with failed-only traces."""
    root = tmp_path_factory.mktemp("gate-runs")
    for name, scenario, traces in (("ready", "launch-ready", "all"), ("blocked", "launch-blocked", "all"),
                                   ("failed-traces", "launch-ready", "failed")):
        done = beamdrill("run", EXAMPLES / f"{scenario}.yaml", "--events", "--traces", traces, "--out", root / name)
        assert done.returncode == 0, done.stderr
    write_canary(root / "canary")
    return {path.name: path for path in root.iterdir()}


def gate(policy: GatePolicy, *directories: Path) -> Any:
    return evaluate_gate(policy, POLICY, list(directories))


def test_the_ready_example_passes(runs: dict[str, Path], drill_runs: tuple[Path, Path], tmp_path: Path) -> None:
    done = beamdrill("gate", POLICY, "--evidence", runs["ready"], drill_runs[0], runs["canary"], "--out", tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("# Readiness gate: READY\n")
    report = json.loads((tmp_path / "gate.json").read_text())
    assert (report["verdict"], report["blockers"]) == ("ready", [])
    assert [(check["check"], check["detail"]) for check in report["checks"]] == [
        ("trace_coverage", "12 of 12 accepted intents traced with their key spans"),
        ("policy_prechecks", "3 of 3 sends admitted by an ACL row"),
        ("capability_owners", "3 of 3 capabilities have an owner"),
        ("offline_eval_pass", "11 of 11 built-in drills completed"),
        ("slo_defined", "objectives: quote-availability, quote-latency"),
        ("rollback_plan", "rollback completed in 95 s, within 5 minutes"),
        ("oncall_owner", "on call: dana"),
        ("rollout_mode", "first step 5.0 %, shadow period"),
        ("unknown_side_effect_path_missing", "3 of 3 capabilities name an unknown side-effect path"),
        ("direct_tool_access_present", "0 capabilities reached directly"),
        ("policy_decisions_not_traced", "12 of 12 policy decisions carry their span attribute"),
        ("go_live", "partner request Acme Procurement Pilot: 6 of 6 prerequisites confirmed, next decision expand")]
    assert (tmp_path / "gate.md").read_text() == done.stdout


def test_the_blocked_example_names_its_three_reasons(runs: dict[str, Path], drill_runs: tuple[Path, Path]) -> None:
    done = beamdrill("gate", POLICY, "--evidence", runs["blocked"], drill_runs[0], runs["canary"], "--json")
    assert (done.returncode, done.stderr) == (1, "")
    report = json.loads(done.stdout)
    result, requests = str(runs["blocked"] / "result.json"), str(runs["blocked"] / "partner-requests.json")
    assert report["verdict"] == "blocked"
    assert report["blockers"] == [
        {"check": "oncall_owner", "reason": "the scenario's operations block names no on-call owner",
         "evidence": result, "owner": "unassigned",
         "next_action": "name the on-call owner in the scenario's operations.oncall_owner"},
        {"check": "unknown_side_effect_path_missing",
         "reason": "capability inventory.check of warehouse@northwind.beam.directory names no path for an unknown "
                   "side effect", "evidence": result, "owner": "northwind-warehouse",
         "next_action": "write down what happens when inventory.check may have acted but did not answer "
                        "(reconcile, compensate or escalate)"},
        {"check": "go_live.security_review_confirmed",
         "reason": "partner request Acme Procurement Pilot: go-live prerequisite security_review_confirmed is blocked",
         "evidence": requests, "owner": "dana", "next_action": "Complete the security review"}]
    recorded = json.loads(Path(requests).read_text())["requests"][0]
    assert recorded["blockedPrerequisites"] == ["security_review_confirmed"]


def test_traces_of_failed_intents_only_do_not_cover(runs: dict[str, Path]) -> None:
    report = gate(load_policy(POLICY), runs["failed-traces"])
    # Finance accepts the preflight asynchronously, so its 4 intents stay delivered and are kept.
    first = "b2d9aa87-3a9c-4bf5-b392-d47513837b14"
    blocked = {blocker.check: blocker.reason for blocker in report.blockers}
    assert blocked["trace_coverage"] == (f"8 of 12 accepted intents lack a trace with their key spans, first {first} "
                                         "(no send, check span)")
    assert blocked["policy_decisions_not_traced"] == (f"8 policy decision(s) without a span attribute, first the "
                                                      f"Shield decision on {first}")
    assert blocked["go_live.first_live_requests"] == (
        "partner request Acme Procurement Pilot: no trace from procurement@acme.beam.directory to "
        "partner-desk@northwind.beam.directory")


def test_missing_evidence_blocks_with_the_command_that_makes_it(tmp_path: Path) -> None:
    report = gate(load_policy(POLICY), write_canary(tmp_path))
    next_actions = {blocker.check: blocker.next_action for blocker in report.blockers}
    assert next_actions["offline_eval_pass"] == "run beamdrill drill run --all --out DIR and pass DIR"
    assert next_actions["trace_coverage"] == ("run the scenario with beamdrill run SCENARIO --events --traces all "
                                              "--out DIR and pass DIR")
    assert next_actions["go_live"] == "declare the partner request and its go_live plan in the scenario"


@pytest.mark.parametrize(("canary", "reasons"), [
    ({**CANARY, "rollback": {"completed_within_5_minutes": False, "seconds": 420.0}},
     [("rollback_plan", "the canary's rollback did not complete within 5 minutes")]),
    ({**CANARY, "rollback": None}, [("rollback_plan", "no canary result shows a rollback")]),
    ({**CANARY, "rollout": {"steps": [{"action": "canary", "weight": 10.0}]}},
     [("rollout_mode", "the first canary step exposes 10.0 % of tenants, more than 5 %"),
      ("rollout_mode", "the rollout has no shadow period")]),
    ({**CANARY, "rollout": {"steps": [{"max_tenant_exposure_pct": 5.0}], "shadow_period": 600.0}}, []),
    ({**CANARY, "rollout": {"steps": [{"action": "pause"}, {"action": "shadow"}]}},
     [("rollout_mode", "the rollout does not start with a canary step"),
      ("rollout_mode", "the first canary step exposes an unknown share % of tenants, more than 5 %")]),
])
def test_rollback_and_rollout_mode_from_the_canary(tmp_path: Path, canary: dict[str, Any],
                                                   reasons: list[tuple[str, str]]) -> None:
    policy = GatePolicy.model_validate({"rollout": {"require": ["rollback_plan"], "rollout_mode": {
        "initial": "canary", "max_tenant_exposure_pct": 5, "require_shadow_period": True}}})
    report = gate(policy, write_canary(tmp_path, canary))
    assert [(blocker.check, blocker.reason) for blocker in report.blockers
            if blocker.check in ("rollback_plan", "rollout_mode")] == reasons


def test_real_canary_results_a_launched_rollout_and_a_rollback_rehearsal(tmp_path: Path) -> None:
    """beamdrill canary's own result.json: the harmless rollout (shadow, then 5 %) is the rollout
    mode; the slow one (no shadow, rolled back within 5 minutes) is the rollback plan."""
    for name in ("assistant-v2-harmless", "assistant-v3-slow"):
        done = beamdrill("canary", name, "--out", tmp_path / name)
        assert done.returncode == (0 if name.endswith("harmless") else 1), done.stderr
    policy = GatePolicy.model_validate({"rollout": {"require": ["rollback_plan"], "rollout_mode": {
        "initial": "canary", "max_tenant_exposure_pct": 5, "require_shadow_period": True}}})
    both = gate(policy, tmp_path / "assistant-v2-harmless", tmp_path / "assistant-v3-slow")
    assert [(c.check, c.detail) for c in both.checks if c.check in ("rollback_plan", "rollout_mode")] == [
        ("rollback_plan", "rollback completed in 150 s, within 5 minutes"),
        ("rollout_mode", "first step 5.0 %, shadow period")]
    assert [b.check for b in both.blockers] == ["go_live"]  # no run's scenario among this evidence
    rehearsal_only = gate(policy, tmp_path / "assistant-v3-slow")
    assert [(b.check, b.reason) for b in rehearsal_only.blockers if b.check != "go_live"] == [
        ("rollout_mode", "the rollout has no shadow period")]


def crafted_run(directory: Path, **changes: Any) -> Path:
    """A run directory whose result.json holds launch-ready's scenario with ``changes``."""
    scenario = load_scenario(EXAMPLES / "launch-ready.yaml").model_copy(update=changes)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "result.json").write_text(json.dumps({"scenario": scenario.model_dump(mode="json", by_alias=True)}))
    return directory


def test_capability_template_conditions(tmp_path: Path) -> None:
    capabilities = load_scenario(EXAMPLES / "launch-ready.yaml").capabilities
    changed = [capabilities[0].model_copy(update={"transport": "direct"}),
               capabilities[1].model_copy(update={"owner": None}), capabilities[2]]
    policy = GatePolicy.model_validate({"rollout": {"require": ["capability_owners"],
                                                    "block_if": ["direct_tool_access_present"]}})
    report = gate(policy, crafted_run(tmp_path, capabilities=changed))
    assert [(b.check, b.reason, b.owner) for b in report.blockers if b.check != "go_live.first_live_requests"] == [
        ("capability_owners", "capability inventory.check of warehouse@northwind.beam.directory has no owner", "dana"),
        ("direct_tool_access_present", "capability quote.request of partner-desk@northwind.beam.directory is "
                                       "reached directly, not through Beam", "northwind-partner-desk")]
    empty = gate(policy, crafted_run(tmp_path / "none", capabilities=[]))
    assert [b.reason for b in empty.blockers if b.check == "capability_owners"] == [
        "the scenario has no capability template"]


def test_slos_and_acl_prechecks(tmp_path: Path) -> None:
    scenario = load_scenario(EXAMPLES / "launch-ready.yaml")
    slos = [scenario.slos[0].model_copy(update={"burn_rate_alerts": []})]
    policy = GatePolicy.model_validate({"rollout": {"require": ["slo_defined", "policy_prechecks"]}})
    report = gate(policy, crafted_run(tmp_path, slos=slos, acl=scenario.acl[:2]))
    assert [(b.check, b.reason) for b in report.blockers if not b.check.startswith("go_live")] == [
        ("slo_defined", "the availability objective quote-availability has no multi-window burn-rate alert"),
        ("slo_defined", "the scenario defines no latency objective")]
    # No events: only the traffic routes are checked, and the example has none.
    assert report.checks[1].detail == "0 of 0 sends admitted by an ACL row"


def test_the_acl_precheck_reads_every_relayed_send(runs: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs["ready"], run)
    document = json.loads((run / "result.json").read_text())
    document["scenario"]["acl"] = document["scenario"]["acl"][:2]
    (run / "result.json").write_text(json.dumps(document))
    report = gate(GatePolicy.model_validate({"rollout": {"require": ["policy_prechecks"]}}), run)
    assert [(b.reason, b.next_action) for b in report.blockers if b.check == "policy_prechecks"] == [
        ("partner-desk@northwind.beam.directory->finance@acme.beam.directory:purchase.preflight has no ACL row: "
         "Beam refuses it with FORBIDDEN", "add an ACL row: target finance@acme.beam.directory, intent "
         "purchase.preflight, allowed_from partner-desk@northwind.beam.directory")]


def test_a_drill_that_did_not_complete_blocks(tmp_path: Path, drill_runs: tuple[Path, Path]) -> None:
    summary = json.loads((drill_runs[0] / "summary.json").read_text())
    summary["drills"][2]["verdict"] = "failed"
    summary["drills"].pop()
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    report = gate(GatePolicy.model_validate({"rollout": {"require": ["offline_eval_pass"]}}), tmp_path)
    assert [(b.reason, b.evidence) for b in report.blockers if b.check == "offline_eval_pass"] == [
        ("built-in drill fm2-queued-retries ended failed", str(tmp_path / "summary.json")),
        ("built-in drill restore-rpo-drill was not run", str(tmp_path / "summary.json"))]
