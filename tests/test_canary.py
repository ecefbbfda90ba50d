"""Canary rollouts (``beamdrill canary``): tenants and their traffic weights, a change staged
for a cohort of tenants (live and shadow, common random numbers), cohort growth, and the
three built-in rollouts' outcomes exactly: promoted, caught at 5 % and rolled back within
5 minutes, Inconclusive. Plus determinism, telemetry labels and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import beamdrill
from drills.canary.builtin import builtin_rollouts
from drills.canary.cohorts import cohort_order, exposure_pct, grow_cohort, traffic_shares
from drills.canary.rollout import load_rollout
from simulator import AgentVersionChange, RetryPolicyChange, World, load_scenario, parse_scenario, tenant_of

ROOT = Path(__file__).resolve().parent.parent
CANARY_DAY = ROOT / "drills" / "scenarios" / "canary-day.yaml"
SMALL = """
name: tenants
duration: 2m
agents:
  - {id: svc@beamco.beam.directory, latency: 50ms, failure_rate: 0.1}
  - {id: app@acme.beam.directory}
  - {id: app@globex.beam.directory}
acl:
  - {target: svc@beamco.beam.directory, intent: task.delegate, allowed_from: app@acme.beam.directory}
  - {target: svc@beamco.beam.directory, intent: task.delegate, allowed_from: app@globex.beam.directory}
traffic:
  routes:
    - {name: acme, from: app@acme.beam.directory, to: svc@beamco.beam.directory, intent: task.delegate, rate: 0.2}
    - {name: globex, from: app@globex.beam.directory, to: svc@beamco.beam.directory, intent: task.delegate, rate: 0.2}
"""
SVC = "svc@beamco.beam.directory"


def _outcomes(world: World) -> list[tuple[str, str, float]]:
    return [(row.nonce, row.status, round(row.settled_at - row.accepted_at, 9))
            for row in world.settled_intents(-1.0, world.now, recipient=SVC)]


# -- tenants ---------------------------------------------------------------------------------


def test_a_tenant_is_the_first_label_of_the_domain() -> None:
    assert [tenant_of(beam_id) for beam_id in ("sales@acme.beam.directory", "a@x.beam", "ops@globex")] == \
        ["acme", "x", "globex"]


def test_tenant_weights_scale_their_senders_routes_and_the_resolved_scenario_omits_none() -> None:
    plain = parse_scenario(yaml.safe_load(SMALL))
    assert "tenants" not in plain.model_dump(mode="json", by_alias=True)
    weighted = parse_scenario({**yaml.safe_load(SMALL), "tenants": [{"name": "acme", "weight": 3}]})
    world = World(weighted, seed=1)
    world.run(until=120.0, steps=1)
    assert world.traffic.sent == {"acme": 55, "globex": 17}
    assert traffic_shares(weighted, SVC) == {"acme": 75.0, "globex": 25.0}


def test_an_unknown_tenant_is_refused() -> None:
    from simulator import ScenarioError
    with pytest.raises(ScenarioError) as refused:
        parse_scenario({**yaml.safe_load(SMALL), "tenants": [{"name": "initech"}]}, "s.yaml")
    assert [problem.line() for problem in refused.value.problems] == [
        "s.yaml: tenants[0].name: expected the tenant of one of the scenario's agents (acme, beamco, globex), "
        "found 'initech'"]


def test_canary_day_has_at_least_40_tenants_sending_to_the_assistant() -> None:
    shares = traffic_shares(load_scenario(CANARY_DAY), "assistant@beamco.beam.directory")
    assert len(shares) == 43
    assert round(sum(shares.values()), 9) == 100.0


# -- a staged change -------------------------------------------------------------------------


def _small_world() -> World:
    return World(parse_scenario(yaml.safe_load(SMALL)), seed=3)


def test_a_change_staged_but_off_or_shadowed_changes_nothing() -> None:
    reference = _small_world()
    reference.run(until=120.0, steps=1)
    shadowed = _small_world()
    staged = shadowed.stage_change(AgentVersionChange(kind="agent_version", agent=SVC, latency_factor=3.0,
                                                      failure_rate=0.9))
    answers: list[object] = []
    staged.on_shadow(answers.append)
    staged.expose(["acme", "globex"], "shadow")
    shadowed.run(until=120.0, steps=1)
    assert _outcomes(shadowed) == _outcomes(reference)
    assert len(answers) == len(_outcomes(reference)) and staged.served == []


def test_a_live_change_answers_its_cohort_only_with_the_same_draws() -> None:
    reference = _small_world()
    reference.run(until=120.0, steps=1)
    live = _small_world()
    staged = live.stage_change(AgentVersionChange(kind="agent_version", agent=SVC, latency_factor=2.0))
    staged.expose(["acme"], "live")
    live.run(until=120.0, steps=1)
    before = {nonce: (status, latency) for nonce, status, latency in _outcomes(reference)}
    served = set(staged.served)
    assert served and all(tenant_of(row.sender) == "acme" for row in live.settled_intents(-1, 120.0, SVC)
                          if row.nonce in served)
    for nonce, status, latency in _outcomes(live):
        if nonce in before and nonce in served:
            assert (status, latency) == (before[nonce][0], pytest.approx(2 * before[nonce][1], abs=0.002))
        elif nonce in before:
            assert (status, latency) == before[nonce]


def test_a_change_for_an_unknown_agent_is_refused() -> None:
    with pytest.raises(ValueError, match="no agent 'x@y' in this world"):
        _small_world().stage_change(AgentVersionChange(kind="agent_version", agent="x@y"))


@settings(max_examples=50, deadline=None)
@given(st.dictionaries(st.text("abcdefgh", min_size=1, max_size=4), st.floats(0.1, 10), min_size=1, max_size=30),
       st.lists(st.floats(0.5, 100), min_size=1, max_size=5), st.integers(0, 1000))
def test_cohorts_grow_monotonically_and_never_exceed_their_weight(rates: dict[str, float], weights: list[float],
                                                                  seed: int) -> None:
    total = sum(rates.values())
    shares = {tenant: 100.0 * rate / total for tenant, rate in rates.items()}
    order = cohort_order(shares, seed)
    assert sorted(order) == sorted(shares) and order == cohort_order(shares, seed)
    cohort: list[str] = []
    for weight in sorted(weights):
        grown = grow_cohort(cohort, order, shares, weight)
        assert grown[:len(cohort)] == cohort
        assert exposure_pct(grown, shares) <= max(weight, exposure_pct(cohort, shares)) + 1e-6
        cohort = grown


# -- the built-in rollouts -------------------------------------------------------------------


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, dict[str, object]]]:
    """Every built-in rollout run once (without telemetry): exit code and result.json."""
    done: dict[str, tuple[int, dict[str, object]]] = {}
    for path in builtin_rollouts():
        out = tmp_path_factory.mktemp(path.stem)
        run = beamdrill("canary", path.stem, "--out", out, "--no-telemetry")
        assert run.stderr.splitlines()[-1].startswith("wrote result.json, report.md, chart.png")
        done[path.stem] = (run.returncode, json.loads((out / "result.json").read_text()))
    return done


def test_there_are_seven_built_in_rollouts() -> None:
    assert [path.stem for path in builtin_rollouts()] == [
        "assistant-pilot-too-small", "assistant-v2-harmless", "assistant-v3-slow", "bus-aggressive-retries",
        "bus-breaker-harmless", "bus-rate-limit-tightened", "bus-shield-tightened"]


def test_the_harmless_change_is_promoted(rollouts: dict[str, tuple[int, dict[str, object]]]) -> None:
    code, result = rollouts["assistant-v2-harmless"]
    assert (code, result["decision"], result["promoted"]) == (0, "Successful", True)
    intervals = result["intervals"]
    assert [(v["action"], v["decision"]) for v in intervals] == [
        ("shadow", "Successful"), ("shadow", "Successful"), ("canary", "Successful"), ("canary", "Successful"),
        ("canary", "Successful"), ("canary", "Successful"), ("pause", "Successful"), ("canary", "Successful"),
        ("canary", "Successful")]
    assert result["rollback"] is None
    assert result["shadow_period"] == {"duration": 240.0, "ran": True, "mirrored_intents": 2678}
    assert (result["rollout"]["shadow_period"], result["rollout"]["max_tenant_exposure_pct"]) == (240.0, 5.0)
    assert [(s["action"], s["weight"], s["max_tenant_exposure_pct"], s["exposure_pct"], len(s["tenants"]))
            for s in result["steps"]] == [
        ("shadow", 0.0, 5.0, 0.0, 43), ("canary", 5.0, 5.0, 3.9855, 4), ("canary", 25.0, 5.0, 23.913, 13),
        ("pause", 25.0, 5.0, 23.913, 13), ("canary", 50.0, 5.0, 49.2754, 24)]


def test_the_slow_version_is_caught_at_five_percent_and_rolled_back_within_five_minutes(
        rollouts: dict[str, tuple[int, dict[str, object]]]) -> None:
    code, result = rollouts["assistant-v3-slow"]
    assert (code, result["decision"], result["promoted"]) == (1, "Failed", False)
    assert result["rollout"]["shadow_period"] is None and result["shadow_period"] is None
    [interval] = result["intervals"]
    assert (interval["step"], interval["action"], interval["weight_pct"], interval["decision"]) == \
        (0, "canary", 5.0, "Failed")
    assert interval["exposure_pct"] <= 5.0
    assert [(m["name"], m["classification"]) for m in interval["judge"]["metrics"]] == [
        ("latency_ms", "High"), ("error_rate_pct", "Pass")]
    assert result["rollback"] == {"happened": True, "first_harmful_at": 600.0, "decided_at": 720.0,
                                  "completed_at": 750.0, "seconds": 150.0, "decision_to_complete_seconds": 30.0,
                                  "limit_seconds": 300.0, "completed_within_5_minutes": True}
    assert result["blast_radius"] == {"intents": 85, "tenants": ["buynlarge", "cogswell", "dunder", "zorg"],
                                      "failed": 0, "dead_lettered": 0, "shadowed": 0}


def test_aggressive_bus_retries_under_an_outage_are_caught_at_five_percent_and_rolled_back_within_five_minutes(
        rollouts: dict[str, tuple[int, dict[str, object]]]) -> None:
    code, result = rollouts["bus-aggressive-retries"]
    assert (code, result["decision"], result["promoted"]) == (1, "Failed", False)
    assert result["change"] == ("bus retries to assistant@beamco.beam.directory version aggressive: "
                                "fixed (base 1, cap 480, max_retries 10)")
    [interval] = result["intervals"]
    assert (interval["step"], interval["action"], interval["weight_pct"], interval["decision"]) == \
        (0, "canary", 5.0, "Failed")
    # The baseline's intents are still in Beam's schedule when the interval ends (the outage
    # lasts 10 minutes), so latency and errors have too few settled on its side; the attempts
    # each intent made (settled or not) show the cohort's 11 attempts spent within a minute.
    assert (interval["baseline"]["intents"], interval["canary"]["intents"], interval["canary"]["errors"]) == \
        (5, 42, 42)
    assert [(m["name"], m["classification"]) for m in interval["judge"]["metrics"]] == [
        ("latency_ms", "NoData"), ("error_rate_pct", "NoData"), ("attempts_per_intent", "High")]
    assert interval["reason"] == ("Failed (< marginal 75): score 0: critical metric attempts_per_intent High "
                                  "(shift +9, interval [+8, +9] vs baseline level 2); threshold "
                                  "request_success_rate_pct 0 < min 95; request_duration_p99_ms 50961.6 > max 500")
    assert result["rollback"] == {"happened": True, "first_harmful_at": 600.0, "decided_at": 720.0,
                                  "completed_at": 791.0, "seconds": 191.0, "decision_to_complete_seconds": 71.0,
                                  "limit_seconds": 300.0, "completed_within_5_minutes": True}
    assert result["blast_radius"] == {"intents": 81, "tenants": ["buynlarge", "cogswell", "dunder", "zorg"],
                                      "failed": 81, "dead_lettered": 81, "shadowed": 0}


def test_a_tightened_bus_rate_limit_is_caught_at_five_percent_by_refused_sends_and_rolled_back(
        rollouts: dict[str, tuple[int, dict[str, object]]]) -> None:
    code, result = rollouts["bus-rate-limit-tightened"]
    assert (code, result["decision"], result["promoted"]) == (1, "Failed", False)
    assert result["change"] == ("bus rate limit of the senders to assistant@beamco.beam.directory version "
                                "tight-limit: 6/min per sender")
    [interval] = result["intervals"]
    assert (interval["step"], interval["weight_pct"], interval["tenants"]) == (
        0, 5.0, ["dunder", "cogswell", "buynlarge", "zorg"])
    # The intents that got in look like the baseline's; the refusals do not.
    assert (interval["baseline"]["refused_sends"], interval["canary"]["refused_sends"],
            interval["canary"]["intents"], interval["baseline"]["intents"]) == (0, 30, 21, 1263)
    assert [(m["name"], m["classification"]) for m in interval["judge"]["metrics"]] == [
        ("latency_ms", "Pass"), ("error_rate_pct", "Pass"), ("refused_sends", "High")]
    assert interval["reason"] == ("Failed (< marginal 75): score 0: critical metric refused_sends High "
                                  "(shift +3, interval [+2, +4] vs baseline level 0)")
    assert result["rollback"] == {"happened": True, "first_harmful_at": 1500.0, "decided_at": 1620.0,
                                  "completed_at": 1650.0, "seconds": 150.0, "decision_to_complete_seconds": 30.0,
                                  "limit_seconds": 300.0, "completed_within_5_minutes": True}
    assert result["blast_radius"] == {"intents": 30, "tenants": ["buynlarge", "cogswell", "dunder"],
                                      "failed": 0, "dead_lettered": 0, "shadowed": 0}


def test_a_tightened_shield_config_is_caught_in_the_shadow_before_any_tenant_sees_it(
        rollouts: dict[str, tuple[int, dict[str, object]]]) -> None:
    code, result = rollouts["bus-shield-tightened"]
    assert (code, result["decision"], result["promoted"]) == (1, "Failed", False)
    assert result["change"] == ("Shield config of assistant@beamco.beam.directory version strict: allowlist emptied, "
                                "pair rate limit 20/h")
    [interval] = result["intervals"]
    assert (interval["action"], interval["baseline"]["intents"], interval["baseline"]["errors"],
            interval["canary"]["intents"], interval["canary"]["errors"]) == ("shadow", 1335, 0, 1335, 523)
    assert interval["reason"] == ("Failed: threshold request_success_rate_pct 60.824 < min 95 (judge: Successful "
                                  "(pass ≥ 95): score 100: every metric passed)")
    assert result["blast_radius"] == {"intents": 0, "tenants": [], "failed": 0, "dead_lettered": 0, "shadowed": 1687}
    assert result["shadow_period"] == {"duration": 240.0, "ran": True, "mirrored_intents": 1687}


def test_a_harmless_circuit_breaker_is_promoted(rollouts: dict[str, tuple[int, dict[str, object]]]) -> None:
    code, result = rollouts["bus-breaker-harmless"]
    assert (code, result["decision"], result["promoted"], result["rollback"]) == (0, "Successful", True, None)
    assert result["change"] == ("bus retries to assistant@beamco.beam.directory version breaker: circuit breaker "
                                "at 50 % failures or 100 % slower than 60 s over 100 calls (at least 100), open 60 s")
    assert [(v["weight_pct"], v["decision"], v["canary"]["intents"]) for v in result["intervals"]] == [
        (5.0, "Successful", 51), (5.0, "Successful", 63), (25.0, "Successful", 280), (25.0, "Successful", 287),
        (50.0, "Successful", 635), (50.0, "Successful", 666)]
    assert (result["blast_radius"]["intents"], result["blast_radius"]["failed"]) == (1995, 1)


def test_the_pilot_only_rollout_is_too_small_to_judge(rollouts: dict[str, tuple[int, dict[str, object]]]) -> None:
    code, result = rollouts["assistant-pilot-too-small"]
    assert (code, result["decision"], result["promoted"]) == (1, "Inconclusive", False)
    [interval] = result["intervals"]
    assert (interval["canary"]["intents"], interval["judge"]["score"], interval["tenants"]) == \
        (9, 0.0, ["buynlarge", "zorg"])
    assert [m["classification"] for m in interval["judge"]["metrics"]] == ["NoData", "NoData"]
    assert result["rollback"] is None
    assert result["reason"].endswith("the rollout is paused at 0.5 % for a human")


def test_the_same_seed_gives_the_same_result_and_telemetry_is_labelled_by_cohort(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        assert beamdrill("canary", "assistant-v3-slow", "--seed", "4", "--out", out).returncode == 1
    assert (first / "result.json").read_bytes() == (second / "result.json").read_bytes()
    assert (first / "chart.png").read_bytes() == (second / "chart.png").read_bytes()
    assert sorted(path.name for path in first.iterdir()) == [
        "alerts.json", "audit.jsonl", "chart.png", "dead-letters.json", "inbox.json", "metrics.om", "report.md",
        "result.json", "traces.otlp.jsonl"]
    metrics = (first / "metrics.om").read_text()
    assert 'beamdrill_canary_settled_intents{cohort="canary"}' in metrics
    assert 'beamdrill_canary_settled_intents{cohort="baseline"}' in metrics
    cohorts: set[str] = set()
    for line in (first / "traces.otlp.jsonl").read_text().splitlines():
        for resource in json.loads(line)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    [cohort] = [a["value"]["stringValue"] for a in span["attributes"] if a["key"] == "beamdrill.cohort"]
                    cohorts.add(cohort)
    assert cohorts == {"baseline", "canary"}
    result = json.loads((first / "result.json").read_text())
    assert result["seed"] == 4 and result["run"]["seed"] == 4 and result["decision"] == "Failed"


def test_every_built_in_rollout_loads() -> None:
    assert [load_rollout(path).rollout.name for path in builtin_rollouts()] == [
        path.stem for path in builtin_rollouts()]


def test_an_interrupted_rollout_writes_every_file_up_to_where_it_stopped(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    from drills.runs.interrupt import Interrupted, StopRequest
    checks = [0]

    def check(self: StopRequest, _now: float | None = None) -> None:
        checks[0] += 1
        if checks[0] == 12:  # the warm-up is 10 slices: stop in the first canary interval
            raise Interrupted(signal.SIGINT)
    monkeypatch.setattr(StopRequest, "check", check)
    done = beamdrill("canary", "assistant-v3-slow", "--out", tmp_path / "out", "--no-telemetry")
    assert done.returncode == 130
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert (result["status"], result["interrupted_by"], result["intervals"], result["virtual_seconds"]) == \
        ("interrupted", "SIGINT", [], 720.0)
    assert result["run"]["status"] == "interrupted"
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "alerts.json", "audit.jsonl", "chart.png", "dead-letters.json", "inbox.json", "report.md", "result.json"]
    assert [path.name for path in tmp_path.iterdir()] == ["out"]


def test_a_change_exposed_from_a_virtual_time_and_rolled_back_at_another_serves_only_between() -> None:
    world = _small_world()
    staged = world.stage_change(AgentVersionChange(kind="agent_version", agent=SVC, latency_factor=2.0))
    staged.expose(["acme", "globex"], "live", at=30.0)
    staged.roll_back(at=90.0)
    world.run(until=120.0, steps=1)
    served = set(staged.served)
    starts = sorted(row.accepted_at for row in world.settled_intents(-1.0, 120.0, SVC) if row.nonce in served)
    assert len(served) == 28 and 30.0 <= starts[0] and starts[-1] < 90.0
    assert staged.exposure == "off" and staged.cohort == frozenset()


def test_wilson_intervals_for_the_power_table() -> None:
    from drills.canary.power import proportion
    assert proportion(20, 20).model_dump() == {"count": 20, "fraction": 1.0, "low": 0.838875, "high": 1.0}
    assert proportion(1, 20).model_dump() == {"count": 1, "fraction": 0.05, "low": 0.008881, "high": 0.236131}


def test_canary_power_counts_how_often_the_slow_version_is_caught_at_the_first_step(tmp_path: Path) -> None:
    done = beamdrill("canary-power", "assistant-v3-slow", "--replications", "2", "--seed", "7", "--out",
                     tmp_path / "power", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    [row] = document["rollouts"]
    assert (document["status"], document["seeds"], row["replications"]) == ("completed", [7, 8], 2)
    assert row["caught_at_first_step"]["count"] == row["rolled_back_within_limit"]["count"] == 2
    assert [(seed["seed"], seed["decision"], seed["decided_at_step"]) for seed in row["seeds"]] == [
        (7, "Failed", 0), (8, "Failed", 0)]
    assert sorted(path.name for path in (tmp_path / "power").iterdir()) == [
        "cells", "cells.csv", "cells.jsonl", "power-sweep.yaml", "power.json", "power.md", "report.md", "summary.json",
        "sweep.json"]


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32), st.floats(0.1, 5.0), st.floats(0.0, 1.0), st.sampled_from(["off", "shadow"]),
       st.sampled_from(["fixed", "full_jitter", "decorrelated_jitter", "none", "beam"]), st.integers(0, 20))
def test_a_change_that_is_not_live_never_changes_an_outcome(seed: int, factor: float, failure_rate: float,
                                                             exposure: str, preset: str, retries: int) -> None:
    scenario = parse_scenario(yaml.safe_load(SMALL))
    reference = World(scenario, seed=seed)
    reference.run(until=60.0, steps=1)
    changed = World(scenario, seed=seed)
    staged = changed.stage_change(AgentVersionChange(kind="agent_version", agent=SVC, latency_factor=factor,
                                                     failure_rate=failure_rate))
    staged.expose(["acme"], exposure)  # type: ignore[arg-type]
    changed.run(until=60.0, steps=1)
    assert _outcomes(changed) == _outcomes(reference) and staged.served == []
    # A retry policy change staged off (it has no shadow) leaves every bus row as it was.
    bus_reference = World(parse_scenario(yaml.safe_load(BUS_SMALL)), seed=seed)
    bus_reference.run(until=300.0, steps=1)
    bus_changed = World(parse_scenario(yaml.safe_load(BUS_SMALL)), seed=seed)
    policy = preset if preset in ("beam", "none") else {"preset": preset, "base": 1 + factor, "max_retries": retries}
    staged = bus_changed.stage_change(RetryPolicyChange(kind="retry_policy", agent=SVC, retry_policy=policy))
    staged.expose(["acme", "globex"], "off")
    bus_changed.run(until=300.0, steps=1)
    assert _bus_rows(bus_changed) == _bus_rows(bus_reference) and staged.served == []


# -- a retry policy change -----------------------------------------------------------------------

BUS_SMALL = SMALL.replace("rate: 0.2}", "rate: 0.2, via: bus}").replace("failure_rate: 0.1", "failure_rate: 0.5")


def _bus_rows(world: World) -> list[tuple[str, str, int, int, int, float | None]]:
    return [(msg.nonce, msg.status, msg.attempts, msg.retry_count, msg.max_retries, msg.next_retry_at)
            for msg in world.bus.by_nonce.values()]


def _aggressive() -> RetryPolicyChange:
    return RetryPolicyChange(kind="retry_policy", agent=SVC,
                             retry_policy={"preset": "fixed", "base": "1s", "max_retries": 10})


def test_a_live_retry_policy_pins_its_cohorts_bus_intents_to_the_changed_preset() -> None:
    reference = World(parse_scenario(yaml.safe_load(BUS_SMALL)), seed=3)
    reference.run(until=600.0, steps=1)
    world = World(parse_scenario(yaml.safe_load(BUS_SMALL)), seed=3)
    staged = world.stage_change(_aggressive())
    staged.expose(["acme"], "live")
    world.run(until=600.0, steps=1)
    served = set(staged.served)
    assert (reference.bus.attempts, reference.bus.retries, reference.bus.dead_letters_total) == (347, 175, 14)
    assert (world.bus.attempts, world.bus.retries, world.bus.dead_letters_total, len(served)) == (355, 183, 15, 88)
    assert {tenant_of(world.bus.by_nonce[nonce].sender) for nonce in served} == {"acme"}
    assert {world.bus.by_nonce[nonce].max_retries for nonce in served} == {10}
    assert {msg.max_retries for msg in world.bus.by_nonce.values() if msg.nonce not in served} == {5}
    assert sum(world.bus.by_nonce[nonce].attempts for nonce in served) == 226
    assert staged.change.describe() == ("bus retries to svc@beamco.beam.directory version canary: "
                                        "fixed (base 1, cap 480, max_retries 10)")


def test_a_retry_policy_rolled_back_keeps_the_intents_it_pinned_and_pins_no_more() -> None:
    world = World(parse_scenario(yaml.safe_load(BUS_SMALL)), seed=3)
    staged = world.stage_change(_aggressive())
    staged.expose(["acme", "globex"], "live", at=60.0)
    staged.roll_back(at=120.0)
    world.run(until=600.0, steps=1)
    created = sorted(world.bus.by_nonce[nonce].created_at for nonce in staged.served)
    assert (len(created), created[0] >= 60.0, created[-1] < 120.0) == (20, True, True)
    assert {world.bus.by_nonce[nonce].max_retries for nonce in staged.served} == {10}
    assert (staged.exposure, staged.cohort) == ("off", frozenset())


def test_a_retry_policy_has_no_shadow() -> None:
    staged = World(parse_scenario(yaml.safe_load(BUS_SMALL)), seed=3).stage_change(_aggressive())
    with pytest.raises(ValueError, match="a retry_policy change has no shadow .* expose svc@beamco.beam.directory "
                                         "version canary live or off"):
        staged.expose(["acme"], "shadow")
