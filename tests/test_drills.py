"""The drill runner and the built-in drills: verdicts, deviations, journals, proof packs,
runbook order rules, and determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from drills.executor import observe as probes
from drills.drillfile.builtin import CATALOG, ORDER, builtin_drills
from drills.cli.app import app
from drills.drillfile.loader import LoadedDrill, load_drill, merge
from drills.executor.execute import DrillOutcome, run_drill
from drills.executor.orderrules import EVIDENCE_FIRST, NO_WILDCARD, OWNER_FIRST, ROOT_CAUSE_FIRST
from drills.drillfile.probes import AlertSeverity, Comparison

ROOT = Path(__file__).parents[1]


def catalog_data(name: str) -> dict[str, Any]:
    """A built-in drill's YAML as data, its scenario path made absolute."""
    data = yaml.safe_load((CATALOG / f"{name}.yaml").read_text())
    data["scenario"] = str((CATALOG / data["scenario"]).resolve())
    return data


def write_drill(tmp_path: Path, name: str, data: dict[str, Any]) -> LoadedDrill:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return load_drill(path)


def run_variant(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> DrillOutcome:
    data = catalog_data(name)
    change(data)
    return run_drill(write_drill(tmp_path, name, data), tmp_path / "out")


def outputs(outcome: DrillOutcome) -> dict[str, Any]:
    """Name → observed value of every expectation checked in the method."""
    return {activity.name: activity.output for activity in outcome.journal.run if activity.phase == "method"
            and activity.type == "probe"}


# -- every built-in drill completes, and can fail -----------------------------------------------


def test_the_catalog_holds_the_eleven_drills_in_order():
    assert [path.stem for path in builtin_drills()] == list(ORDER)
    assert len(ORDER) == 11


@pytest.mark.parametrize("name", ORDER)
def test_built_in_drill_completes(name: str, tmp_path: Path):
    outcome = run_drill(load_drill(CATALOG / f"{name}.yaml"), tmp_path)
    journal = outcome.journal
    assert (journal.status, journal.reason, journal.deviations, journal.violations) == ("completed", None, [], [])
    assert journal.warnings == []  # no expectation held before the drill did anything
    assert journal.expectations_held == journal.expectations_total == len(load_drill(CATALOG / f"{name}.yaml").drill.expectations)
    for file in ("result.json", "events.jsonl", "audit.jsonl", "metrics.om", "journal.json", "report.md", "chart.png"):
        assert (tmp_path / file).is_file(), file


@pytest.mark.parametrize("name", ORDER)
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_built_in_drills_complete_for_any_seed(name: str, seed: int, tmp_path: Path):
    """The drills check the runbook's states, not one lucky draw: jitter, latencies and
    arrival times change with the seed and every expectation still holds.

    Three seeds per drill a run (27 drill runs of about 0.6 s, mostly the chart; six took
    35 s): hypothesis draws new seeds every run, and each drill also completes with its
    own seed in test_built_in_drill_completes."""
    journal = run_drill(load_drill(CATALOG / f"{name}.yaml"), tmp_path / str(seed), seed=seed).journal
    assert (journal.status, journal.deviations, journal.violations) == ("completed", [], []), journal.reason
    assert journal.warnings == []


def _drop(*keys: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for key in keys:
            data.pop(key, None)
    return change


def _override(patch: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["overrides"] = merge(data.get("overrides", {}), patch)
    return change


def _drop_fault(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["faults"] = [fault for fault in data["faults"] if fault["name"] != name]
    return change


def _drop_backup_step(data: dict[str, Any]) -> None:
    data["steps"] = [step for step in data["steps"] if step["action"] != "backup"]


DEMO_ACL = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text())["acl"]

#: Per drill: a world without its fault, or with its key rule changed, and an expectation
#: that must then be reported as a deviation.
MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "clean-demo": (_override({"acl": DEMO_ACL[1:]}), "quote trace acked"),
    "fm1-stuck-delivered": (_drop("faults"), "guidance identifies the async acceptance"),
    "fm2-queued-retries": (_drop("faults", "steps"), "preflight queued"),
    "fm3-dead-letter": (_drop("faults", "steps"), "preflight dead-lettered"),
    "fm4-forbidden-acl": (_drop("faults", "steps"), "immediate dead letter"),
    "fm5-rate-limit-shield": (_override({"directory": {"public_limits": {"per_ip_per_min": 1000,
                                                                         "per_sender_per_min": 1000}}}),
                              "fast failures with RATE_LIMITED"),
    "fire-drill": (_override({"agents": [{"id": "finance@northwind.beam.directory", "failure_rate": 0.0}]}),
                   "the newest proof failed TIMEOUT"),
    "recovery-drill": (_drop_fault("bus restart"), "requeued by the restart"),
    "as-coded-retry-defect": (_override({"fidelity": "documented"}), "dead-lettered although finance came back"),
    "backup-restore-drill": (_drop_backup_step, "restored from the backup"),
    "restore-rpo-drill": (_override({"backups": {"every": "2m"}}), "the late orders were lost in restore"),
}


@pytest.mark.parametrize("name", ORDER)
def test_built_in_drill_deviates_without_its_fault_or_rule(name: str, tmp_path: Path):
    change, expectation = MUTATIONS[name]
    journal = run_variant(tmp_path, name, change).journal
    assert journal.status == "deviated"
    assert expectation in [deviation.name for deviation in journal.deviations]
    assert journal.expectations_held < journal.expectations_total


def test_a_deviation_says_what_was_expected_what_was_seen_and_when(tmp_path: Path):
    journal = run_variant(tmp_path, "fm2-queued-retries", _drop("faults", "steps")).journal
    deviation = next(d for d in journal.deviations if d.name == "preflight queued")
    # by: 10s, polled every virtual second from 0: the last look is at t=10
    assert (deviation.expected, deviation.observed, deviation.time, deviation.phase) == (
        "= queued", "delivered", 10.0, "method")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "**Verdict: deviated**" in report
    assert "| preflight queued | = queued | delivered | t=10s | **no** |" in report


# -- expectations that prove nothing ------------------------------------------------------------

#: fm3's "no dead letters left" as it was: no after:, so first checked at t=0 s, where it holds.
PREMATURE = {"name": "no dead letters left", "probe": "dead_letters", "equals": 0, "by": "16m"}
PREMATURE_MESSAGE = ("expectation 'no dead letters left' held at its first check (t=0s), at or before the drill's "
                     "first fault or step (t=0s), so it proves nothing about them; give it an after: past the step "
                     "it is about")


def _premature_fm3(data: dict[str, Any]) -> None:
    data["expectations"] = [PREMATURE if e.get("name") == "no dead letters left" else e for e in data["expectations"]]


def test_an_expectation_that_holds_before_the_first_fault_or_step_is_a_warning(tmp_path: Path):
    outcome = run_variant(tmp_path, "fm3-dead-letter", _premature_fm3)
    journal = outcome.journal
    assert journal.status == "completed"  # a warning, not a deviation
    assert [w.model_dump() for w in journal.warnings] == [
        {"kind": "held-before-the-method", "expectation": "no dead letters left", "checked": 0.0,
         "first_action": 0.0, "message": PREMATURE_MESSAGE}]
    assert json.loads((tmp_path / "out" / "journal.json").read_text())["warnings"] == [
        {"kind": "held-before-the-method", "expectation": "no dead letters left", "checked": 0.0,
         "first_action": 0.0, "message": PREMATURE_MESSAGE}]
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"## Warnings\n\n- {PREMATURE_MESSAGE}\n\n## Timeline" in report


def test_fm3_checks_no_dead_letters_left_only_after_the_requeue(tmp_path: Path):
    outcome = run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path)
    assert outcome.journal.warnings == []
    check = next(a for a in outcome.journal.run if a.name == "no dead letters left")
    # first looked at t=900, the requeue's own time (six dead letters still), held at 901
    assert (check.start, check.end, check.output, check.tolerance_met) == (900.0, 901.0, 0, True)
    assert json.loads((tmp_path / "journal.json").read_text())["warnings"] == []


def test_a_warning_at_the_time_of_the_first_step_and_none_after_it(tmp_path: Path):
    """At or before the first fault or step: fm4's ACL fault is at 0 s, its first step at 1 m."""
    def change(data: dict[str, Any]) -> None:
        data["expectations"] += [
            {"name": "at the fault", "probe": "dead_letters", "equals": 0, "at": "0s"},
            {"name": "after the fault", "probe": "audit", "action": "acl.deleted", "equals": 1, "at": "1s"}]

    journal = run_variant(tmp_path, "fm4-forbidden-acl", change).journal
    assert journal.status == "completed"
    assert [(w.expectation, w.checked, w.first_action) for w in journal.warnings] == [("at the fault", 0.0, 0.0)]


def test_drill_run_prints_one_line_per_warning(tmp_path: Path):
    data = catalog_data("fm3-dead-letter")
    _premature_fm3(data)
    path = tmp_path / "premature.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["drill", "run", str(path), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    # the transient progress display leaves an empty line on stderr
    assert [line for line in result.stderr.splitlines() if line] == [f"premature: warning: {PREMATURE_MESSAGE}"]


# -- exact values the reference system gives ---------------------------------------------------


def test_fm3_dead_letters_after_five_attempts_and_requeue_keeps_the_nonce(tmp_path: Path):
    outcome = run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path)
    seen = outputs(outcome)
    assert seen["five attempts (stored retry_count 4)"] == 4  # §14.4
    assert seen["six dead letters"] == 6
    assert seen["error-rate alert"] == "critical"
    requeue = next(a for a in outcome.journal.run if a.kind == "requeue_dead_letters")
    nonces = requeue.output["requeued"]
    assert len(nonces) == 6
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    accepted = {event["nonce"] for event in events if event["kind"] == "bus_accepted"}
    assert set(nonces) <= accepted  # the original nonces, no new messages
    delivered_after = {event["nonce"] for event in events if event["kind"] == "transition" and event["path"] == "bus"
                       and event["to"] == "delivered" and event["t"] >= 900}
    assert delivered_after == set(nonces)


FM1_ASYNC = ("Failure mode 1, stuck in delivered: the hand-off was accepted but no terminal ack came. The agent "
             "answered with an async acceptance (terminal: false): the follow-up belongs on the same thread; this "
             "is expected for async fan-out. Then check Alerts for a backlog (network-in-flight-backlog after 15 "
             "minutes).")
FM3 = ("Failure mode 3, dead letter: open this trace, record an owner and next action in the Inbox, fix the root "
       "cause, then requeue (the original nonce is kept).")


def test_fm3_trace_guidance_follows_the_state_the_intent_ended_in(tmp_path: Path):
    """While dead-lettered, the preflight gets failure mode 3; requeued, it ends delivered on the
    bus (finance accepts asynchronously, the directory acked it), and its trace says it was
    requeued from a dead letter before the guidance for where it is now."""
    from drills.runs.traceview import load_trace, render

    outcome = run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path)
    assert outputs(outcome)["guidance for a dead letter"] == FM3  # at 13m, dead-lettered
    nonce = outcome.journal.affected_nonces[0]
    trace = load_trace(tmp_path, nonce)
    assert trace.final() == {"bus": "delivered", "directory": "acked"}
    assert render(trace)[-2:] == [
        "guidance for the state it ended in (bus delivered)",
        "  Requeued from a dead letter: dead-lettered at t=570s with OFFLINE, requeued with its original nonce at "
        "t=900s. Now: " + FM1_ASYNC]
    done = CliRunner().invoke(app, ["trace", nonce, "--run", str(tmp_path)], env={"COLUMNS": "1000"})
    assert done.stdout.splitlines()[-1] == render(trace)[-1]


def test_fm3_without_the_requeue_ends_with_dead_letter_guidance(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        data["steps"] = [step for step in data["steps"] if step["action"] != "requeue_dead_letters"]

    outcome = run_variant(tmp_path, "fm3-dead-letter", change)
    nonce = outcome.journal.affected_nonces[0]
    done = CliRunner().invoke(app, ["trace", nonce, "--run", str(tmp_path / "out")], env={"COLUMNS": "1000"})
    assert done.exit_code == 0
    assert done.stdout.splitlines()[-2:] == ["guidance for the state it ended in (bus dead_letter)", f"  {FM3}"]


def test_fm3_retries_follow_beams_schedule(tmp_path: Path):
    """§14.4: waits d(1)..d(4), each rounded up to the next 30 s worker tick."""
    from simulator.beam.retry import beam_retry_delay

    outcome = run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path)
    nonce = outcome.journal.affected_nonces[0]
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    delays = [(e["retry_count"], e["delay"]) for e in events if e["kind"] == "retry_scheduled" and e["nonce"] == nonce]
    assert delays == [(n, beam_retry_delay(n, nonce)) for n in (1, 2, 3, 4)]


def test_fm5_reports_the_rate_limited_count_the_events_hold(tmp_path: Path):
    """15 quotes pass and their 15 preflights fill the shared `unknown` bucket (30/min);
    the other 25 quotes are refused RATE_LIMITED with a Shield reject each. The journal,
    the report, the world's counters and the events give the same 25."""
    outcome = run_drill(load_drill(CATALOG / "fm5-rate-limit-shield.yaml"), tmp_path)
    seen = outputs(outcome)
    assert (seen["fast failures with RATE_LIMITED"], seen["Shield rejects recorded"]) == (25, 25)
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    refused = [e["nonce"] for e in events if e["kind"] == "relay_rejected" and e["code"] == "RATE_LIMITED"]
    assert refused == [f"burst-{index}" for index in range(15, 40)]
    directory = json.loads((tmp_path / "result.json").read_text())["summary"]["directory"]
    assert (directory["rejections_by_code"], directory["shield_decisions"]["reject"]) == ({"RATE_LIMITED": 25}, 25)
    report = (tmp_path / "report.md").read_text()
    assert "| fast failures with RATE_LIMITED | = 25 | 25 | t=40s | yes |" in report
    assert "| Shield rejects recorded | = 25 | 25 | t=40s | yes |" in report


def test_fire_drill_gives_the_reference_result(tmp_path: Path):
    """§12 and §14.28."""
    seen = outputs(run_drill(load_drill(CATALOG / "fire-drill.yaml"), tmp_path))
    assert seen["exactly three alerts"] == 3
    assert seen["network-error-rate is linked to the request"] == ["Northwind Incident Pilot"]
    assert seen["the partner incident"] == "Partner workflow breached the latency target"


# -- verdicts other than completed and deviated ---------------------------------------------------


def test_a_failing_guard_aborts_the_drill_and_still_rolls_back(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        data["guards"] = [{"name": "no dead letters", "probe": "dead_letters", "equals": 0}]
        data["rollbacks"] = [{"action": "fix_root_cause", "fault": "finance offline"}]

    outcome = run_variant(tmp_path, "fm3-dead-letter", change)
    journal = outcome.journal
    assert journal.status == "aborted"
    assert journal.reason is not None and journal.reason.startswith("guard 'no dead letters' failed at t=")
    assert journal.virtual_duration < 20 * 60  # stopped early
    assert [a.kind for a in journal.rollbacks] == ["fix_root_cause"]
    assert journal.rollbacks[0].status == "succeeded"
    assert journal.steady_states["after"] == []  # not checked after an abort
    assert (tmp_path / "out" / "report.md").is_file()


def test_a_steady_state_that_does_not_hold_before_the_method_fails_the_drill(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        data["steady_state"]["before"] = [{"probe": "dead_letters", "equals": 1}]

    journal = run_variant(tmp_path, "fm3-dead-letter", change).journal
    assert (journal.status, journal.reason) == ("failed", "the steady state did not hold before the method")
    assert journal.run == []  # the method never ran
    assert journal.virtual_duration == 0.0


def test_a_drill_that_breaks_still_writes_what_it_has(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def broken(ctx: Any, probe: Any) -> Any:
        raise RuntimeError("probe exploded")

    monkeypatch.setitem(probes.OBSERVERS, AlertSeverity, broken)
    journal = run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path).journal
    assert journal.status == "failed"
    assert journal.reason is not None
    assert journal.reason.startswith("RuntimeError: probe exploded (at test_drills.py:")
    for file in ("result.json", "journal.json", "report.md", "chart.png"):
        assert (tmp_path / file).is_file()


# -- runbook order rules ----------------------------------------------------------------------------


def _steps(data: dict[str, Any], change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    data["steps"] = change(data["steps"])


def test_requeue_before_the_fix_is_a_violation(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        for step in data["steps"]:
            if step["action"] == "requeue_dead_letters":
                step["at"] = "13m30s"
        data["expectations"] = data["expectations"][:1]

    journal = run_variant(tmp_path, "fm3-dead-letter", change).journal
    assert journal.status == "deviated"
    assert [(v.rule, v.step, v.time, v.detail) for v in journal.violations] == [
        (ROOT_CAUSE_FIRST, "requeue_dead_letters", 810.0, "still active: finance offline")]
    assert "**violated** at t=810s by `requeue_dead_letters`" in (tmp_path / "out" / "report.md").read_text()


def test_requeue_before_evidence_and_owner_are_violations(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        data["steps"] = [s for s in data["steps"] if s["action"] in ("fix_root_cause", "requeue_dead_letters")]
        data["expectations"] = data["expectations"][:1]
        data["steady_state"]["after"] = []

    journal = run_variant(tmp_path, "fm3-dead-letter", change).journal
    assert [v.rule for v in journal.violations] == [OWNER_FIRST, EVIDENCE_FIRST]
    assert journal.violations[0].detail == "no owner on critical-alert:network-error-rate"


def test_prune_before_export_is_a_violation(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        data["steps"].insert(0, {"action": "prune", "dataset": "audit", "older_than_days": 30, "at": "30s"})

    journal = run_variant(tmp_path, "fm4-forbidden-acl", change).journal
    assert [(v.rule, v.step) for v in journal.violations] == [(EVIDENCE_FIRST, "prune audit")]


def test_widening_the_acl_to_a_wildcard_is_a_violation(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        data["steps"] = [
            {"action": "export_evidence", "at": "1m"},
            {"action": "add_acl_entry", "target": "finance@acme.beam.directory", "intent": "purchase.preflight",
             "allowed_from": "*", "at": "2m"},
            {"action": "requeue_dead_letters", "at": "3m"}]

    journal = run_variant(tmp_path, "fm4-forbidden-acl", change).journal
    assert [v.rule for v in journal.violations] == [NO_WILDCARD, ROOT_CAUSE_FIRST]
    # the wildcard "works": the message is delivered, and the drill still deviates
    assert outputs_of(journal)["delivered after the requeue"] == "delivered"
    assert journal.status == "deviated"


def outputs_of(journal: Any) -> dict[str, Any]:
    return {a.name: a.output for a in journal.run if a.type == "probe"}


def test_a_step_that_cannot_be_done_is_a_deviation(tmp_path: Path):
    def change(data: dict[str, Any]) -> None:
        data["steps"] = [{"action": "acknowledge", "item": "critical-alert:network-error-rate", "at": "10s"}]
        data["expectations"] = data["expectations"][:1]

    journal = run_variant(tmp_path, "fm4-forbidden-acl", change).journal
    step = next(a for a in journal.run if a.type == "action")
    assert (step.status, step.output) == ("failed", {"error": "no inbox item critical-alert:network-error-rate yet"})
    assert journal.status == "deviated"


# -- files: journal, report, chart, determinism --------------------------------------------------


def test_journal_records_every_activity(tmp_path: Path):
    run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path)
    journal = json.loads((tmp_path / "journal.json").read_text())
    assert journal["status"] == "completed"
    assert journal["scenario_digest"].startswith("sha256:")
    actions = [(a["kind"], a["start"], a["status"]) for a in journal["run"] if a["type"] == "action"]
    assert actions == [("acknowledge", 720.0, "succeeded"), ("set_owner", 750.0, "succeeded"),
                       ("export_evidence", 780.0, "succeeded"), ("fix_root_cause", 840.0, "succeeded"),
                       ("requeue_dead_letters", 900.0, "succeeded")]
    for activity in journal["run"]:
        assert set(activity) == {"name", "type", "kind", "phase", "start", "end", "status", "output", "tolerance",
                                 "tolerance_met"}
    exported = sorted(p.name for p in (tmp_path / "evidence").iterdir())
    assert exported == ["t780-alerts.json", "t780-audit.json", "t780-dead-letters.json", "t780-errors.json",
                        "t780-intents.json"]


def test_result_holds_the_verdict_and_the_resolved_drill(tmp_path: Path):
    run_drill(load_drill(CATALOG / "fm4-forbidden-acl.yaml"), tmp_path)
    result = json.loads((tmp_path / "result.json").read_text())
    assert (result["drill"]["name"], result["drill"]["verdict"], result["drill"]["reason"]) == (
        "fm4-forbidden-acl", "completed", None)
    resolved = result["drill"]["resolved"]
    assert resolved["guard_interval"] == 5.0 and resolved["settle"] == 0.0  # defaults written out
    assert [f["name"] for f in resolved["faults"]] == ["preflight ACL row deleted"]
    assert result["scenario"]["faults"][-1]["kind"] == "acl_remove"  # the drill's fault is in the world's scenario


def test_report_is_a_proof_pack(tmp_path: Path):
    run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path)
    report = (tmp_path / "report.md").read_text()
    for part in ("# Drill fm3-dead-letter:", "| seed | 7 |", "| scenario digest | `sha256:", "## Timeline",
                 "fault starts: finance offline", "alert network-error-rate fires critical",
                 "inbox item critical-alert:network-error-rate created (critical, new)",
                 "inbox item critical-alert:network-error-rate → acknowledged, owner dana",
                 "operator: requeue_dead_letters", "## Expectations", "## Traces of the affected intents",
                 "Failure mode 3, dead letter", "![lifecycle counts, dead letters and alerts over virtual time](chart.png)"):
        assert part in report, part
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_shows_the_partner_request_and_its_inbox_item_following_it(tmp_path: Path):
    run_drill(load_drill(CATALOG / "clean-demo.yaml"), tmp_path)
    timeline = (tmp_path / "report.md").read_text().split("## Timeline", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in timeline.splitlines() if "beta-request:1" in line or "partner request 1" in line]
    assert lines == ["- t=0s (08:00:00Z): inbox item beta-request:1 created (warning, new)",
                     "- t=60s (08:01:00Z): partner request 1 → reviewing, owner dana",
                     "- t=60s (08:01:00Z): inbox item beta-request:1 → acted, following its partner request "
                     "(by drill-operator)"]


def test_a_drill_replays_byte_for_byte(tmp_path: Path):
    loaded = load_drill(CATALOG / "fm3-dead-letter.yaml")
    run_drill(loaded, tmp_path / "a")
    run_drill(loaded, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) >= 10
    for file in files:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_seed_option_changes_the_world_and_is_recorded(tmp_path: Path):
    journal = run_drill(load_drill(CATALOG / "fm2-queued-retries.yaml"), tmp_path, seed=11).journal
    assert journal.seed == 11
    assert json.loads((tmp_path / "result.json").read_text())["seed"] == 11


# -- the command line ----------------------------------------------------------------------------


def test_drill_run_prints_a_table_and_exits_1_when_a_drill_deviates(tmp_path: Path):
    data = catalog_data("fm2-queued-retries")
    data.pop("faults")
    data.pop("steps")
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["drill", "run", "clean-demo", str(path), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 1, result.output
    assert "clean-demo" in result.stdout and "completed" in result.stdout
    assert "broken" in result.stdout and "deviated" in result.stdout
    assert "broken: deviated" in result.stderr
    assert "t=10s preflight queued: expected = queued, observed \"delivered\"" in result.stderr
    summary = json.loads((tmp_path / "runs" / "summary.json").read_text())
    assert [(d["drill"], d["verdict"]) for d in summary["drills"]] == [("clean-demo", "completed"),
                                                                        ("broken", "deviated")]


def test_drill_list_names_every_built_in_drill():
    result = CliRunner().invoke(app, ["drill", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ORDER:
        assert name in result.stdout


def test_an_unknown_drill_name_is_one_line_and_exit_2():
    result = CliRunner().invoke(app, ["drill", "run", "fm9-nothing"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "(command line): DRILL: expected a drill file or one of " + ", ".join(ORDER) + ", found 'fm9-nothing'"]


# -- small parts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,observed,holds", [
    ({"equals": "acked"}, "acked", True), ({"equals": "acked"}, "delivered", False),
    ({"equals": None}, None, True), ({"equals": 0}, None, False),
    ({"one_of": ["delivered", "acked"]}, "acked", True), ({"one_of": ["delivered"]}, None, False),
    ({"at_least": 2}, 2, True), ({"at_least": 2}, 1, False), ({"at_least": 1, "at_most": 3}, 4, False),
    ({"at_least": 1}, "3", False), ({"at_least": 0}, True, False),
    ({"contains": "async"}, "an async acceptance", True), ({"contains": "x"}, ["x", "y"], True),
    ({"contains": "x"}, None, False),
])
def test_comparison(spec: dict[str, Any], observed: Any, holds: bool):
    assert Comparison.model_validate(spec).holds(observed) is holds


def test_merge_overrides_agents_by_id_and_replaces_other_lists():
    base = {"agents": [{"id": "a", "latency": 1, "ip": "x"}, {"id": "b"}], "acl": [1, 2], "bus": {"max_retries": 5}}
    override = {"agents": [{"id": "a", "latency": 2}, {"id": "c"}], "acl": [3], "bus": {"ip": "y"}}
    assert merge(base, override) == {"agents": [{"id": "a", "latency": 2, "ip": "x"}, {"id": "b"}, {"id": "c"}],
                                     "acl": [3], "bus": {"max_retries": 5, "ip": "y"}}


@pytest.mark.parametrize("preset", ["full_jitter", "decorrelated_jitter"])
def test_fm2_retry_schedule_probe_follows_the_selected_preset(tmp_path: Path, preset: str):
    """With a jittered preset the probe checks each delay against the preset's bounds, not
    Beam's table: the drill still passes, and a delay outside the bounds would not."""
    def change(data: dict[str, Any]) -> None:
        data["overrides"] = {"bus": {"retry_policy": {"preset": preset, "base": "20s", "cap": "2m"}}}

    outcome = run_variant(tmp_path, "fm2-queued-retries", change)
    assert outputs(outcome)["every delay is Beam's"] is True
    events = [json.loads(line) for line in (tmp_path / "out" / "events.jsonl").read_text().splitlines()]
    scheduled = [e for e in events if e["kind"] == "retry_scheduled"]
    assert scheduled and {e["policy"] for e in scheduled} == {preset}
    assert outcome.verdict == "completed"
