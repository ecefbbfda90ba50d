"""Retry presets, the retry budget and the circuit breaker inside a world's bus: attempts
at the expected virtual times, dead letters, events, metrics and span attributes, replay
from the seed, common random numbers across policies, and the scenario fields.

The target is offline (the directory answers 503 OFFLINE at once) unless said otherwise;
the retry worker ticks every second (``worker_interval: 1``) so waits show as they are."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from conftest import without_limits
from simulator import ScenarioError, parse_scenario
from simulator.kernel.events import Event
from simulator.kernel.rng import derive_seed
from simulator.policies import BUS_RETRY_STREAM
from simulator.telemetry.metrics import WorldCollector, latency_histogram
from simulator.telemetry.spans import SpanRecorder
from simulator.world import World

SENDER = "sender@test.beam.directory"
TARGET = "target@test.beam.directory"


def make_world(bus: dict[str, Any], connected: bool = False, **fields: Any) -> tuple[World, list[Event]]:
    specs = [{"id": SENDER}, {"id": TARGET, "connected": connected}]
    world = World(parse_scenario({"name": "policies", "bus": {"worker_interval": 1, **bus},
                                  **without_limits(specs), "retention": {"finished_rows": None}, **fields}), seed=1)
    events: list[Event] = []
    world.subscribe(events.append)
    return world, events


def of(events: list[Event], kind: str, nonce: str | None = None) -> list[Event]:
    return [e for e in events if e.kind == kind and (nonce is None or e.nonce == nonce)]


def dead_at(events: list[Event], nonce: str) -> list[float]:
    return [e.time for e in of(events, "transition", nonce) if e.data["path"] == "bus" and e.data["to"] == "dead_letter"]


# -- presets -----------------------------------------------------------------------------


@pytest.mark.parametrize(("policy", "attempts", "delays"), [
    # fixed: 10 s each, max_retries 2: attempts at 0, 10, 20; the third failure is final.
    ({"preset": "fixed", "base": 10, "max_retries": 2}, [0, 10, 20], [10, 10]),
    # exponential: min(5, 1 * 2**n) = 2, 4, 5: attempts at 0, 2, 6, 11.
    ({"preset": "exponential", "base": 1, "cap": 5, "max_retries": 3}, [0, 2, 6, 11], [2, 4, 5]),
    ("none", [0], []),
    ({"preset": "none"}, [0], []),
])
def test_deterministic_presets_attempt_at_the_expected_times(policy: Any, attempts: list[float],
                                                            delays: list[float]) -> None:
    world, events = make_world({"retry_policy": policy})
    answer = world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n")
    world.env.run(until=100)
    assert [e.time for e in of(events, "attempt", "n")] == attempts
    assert [e.data["delay"] for e in of(events, "retry_scheduled", "n")] == delays
    assert dead_at(events, "n") == [attempts[-1]]
    row = world.bus.by_nonce["n"]
    assert (row.status, row.error, row.error_code, row.attempts) == ("dead_letter", "agent_offline", "OFFLINE",
                                                                    len(attempts))
    if not delays:  # none: the send's own answer says so, as for a non-retryable failure
        assert answer.value.body["status"] == "dead_letter"


@pytest.mark.parametrize("preset", ["full_jitter", "equal_jitter", "decorrelated_jitter"])
def test_jittered_presets_draw_from_the_worlds_retry_stream(preset: str) -> None:
    world, events = make_world({"retry_policy": {"preset": preset, "base": 1, "cap": 60, "max_retries": 3}})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n")
    world.env.run(until=500)
    # An independent copy of the stream: Python's uniform, Brooker's formulas.
    stream = random.Random(derive_seed(1, BUS_RETRY_STREAM))
    expected: list[float] = []
    sleep = 1.0
    for n in (1, 2, 3):
        v = min(60.0, 1.0 * 2 ** n)
        if preset == "full_jitter":
            expected.append(stream.uniform(0, v))
        elif preset == "equal_jitter":
            expected.append(v / 2 + stream.uniform(0, v / 2))
        else:
            sleep = min(60.0, stream.uniform(1.0, sleep * 3))
            expected.append(sleep)
    scheduled = of(events, "retry_scheduled", "n")
    assert [e.data["delay"] for e in scheduled] == expected
    assert all(e.data["policy"] == preset for e in scheduled)
    # Each retry goes at the first worker tick (whole seconds) at or after it is due.
    due = [e.data["next_retry_at"] for e in scheduled]
    assert [e.time for e in of(events, "attempt", "n")][1:] == [float(-(-t // 1)) for t in due]
    assert world.follows_retry_policy("n", [(e.data["retry_count"], e.data["delay"]) for e in scheduled])


def test_beams_schedule_is_untouched_and_its_events_name_no_policy() -> None:
    world, events = make_world({})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="retry-nonce-1")
    world.env.run(until=1000)
    assert [e.data["delay"] for e in of(events, "retry_scheduled")] == [28, 57, 115, 233]
    assert all("policy" not in e.data for e in of(events, "retry_scheduled"))
    assert BUS_RETRY_STREAM not in world.rng._streams  # Beam's schedule draws nothing
    assert (world.bus.budgets, world.bus.breakers) == (None, None)


def traffic_world(policy: Any, seed: int) -> World:
    return World(parse_scenario({
        "name": "crn", "duration": 1800, "bus": {"retry_policy": policy, "rate_limit_per_min": 1000},
        **without_limits([{"id": SENDER}, {"id": TARGET, "failure_rate": 0.3}]),
        "traffic": {"routes": [{"from": SENDER, "to": TARGET, "intent": "agent.ping", "via": "bus", "rate": "2/min"}]},
    }), seed=seed)


def run_events(world: World) -> list[dict[str, Any]]:
    captured: list[Event] = []
    world.subscribe(captured.append)
    world.run()
    return [event.to_json() for event in captured]


POLICIES = ["beam", "none", {"preset": "fixed", "base": 20}, {"preset": "exponential", "base": 5},
            {"preset": "full_jitter", "base": 5}, {"preset": "equal_jitter", "base": 5},
            {"preset": "decorrelated_jitter", "base": 5}]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p if isinstance(p, str) else p["preset"])
def test_a_world_with_each_preset_replays_byte_for_byte(policy: Any) -> None:
    first = json.dumps(run_events(traffic_world(policy, 7)))
    assert first == json.dumps(run_events(traffic_world(policy, 7)))
    assert first != json.dumps(run_events(traffic_world(policy, 8)))


def test_traffic_is_the_same_whichever_policy_is_chosen() -> None:
    # Common random numbers: the arrivals (time, nonce) do not depend on the retry policy.
    arrivals = [[(e["t"], e["nonce"]) for e in run_events(traffic_world(policy, 3)) if e["kind"] == "bus_accepted"]
                for policy in POLICIES]
    assert len(arrivals[0]) > 30
    assert all(seen == arrivals[0] for seen in arrivals[1:])


# -- retry budget ------------------------------------------------------------------------


def test_a_refused_retry_dead_letters_the_row_at_once() -> None:
    # 50 %, no floor: a deposit is 1000 tokens, a retry costs 2000. n1's own deposit cannot pay
    # for its retry at 0; n2's deposit makes 2000: its retry 1 is paid; its retry 2 at 1 is refused.
    world, events = make_world({"retry_policy": {"preset": "fixed", "base": 1, "max_retries": 30},
                                "retry_budget": {"percent_can_retry": 0.5, "min_retries_per_sec": 0}})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n1")
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n2")
    world.env.run(until=10)
    refused = [(e.time, e.nonce, e.data["retry_count"], e.data["code"], e.data["balance"])
               for e in of(events, "retry_budget_refused")]
    assert refused == [(0, "n1", 1, "OFFLINE", 0), (1.0, "n2", 2, "OFFLINE", 0)]
    assert (dead_at(events, "n1"), dead_at(events, "n2")) == ([0], [1.0])
    row = world.bus.by_nonce["n2"]
    assert (row.status, row.error_code, row.error) == (
        "dead_letter", "RETRY_BUDGET_EXHAUSTED",
        f"Retry budget exhausted for {SENDER} -> {TARGET} (last error: agent_offline)")
    assert world.bus.budget_refusals == 2


def test_the_floor_allows_retries_until_it_is_spent_and_again_once_it_expires() -> None:
    # 1 retry a second over a ttl of 2 s: a reserve of 2 retries (no percentage).
    world, events = make_world({"retry_policy": {"preset": "fixed", "base": 5, "max_retries": 30},
                                "retry_budget": {"percent_can_retry": 0, "min_retries_per_sec": 1, "ttl": 2}})
    for index in range(3):
        world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=f"n{index}")
    world.env.run(until=6)
    assert [(e.time, e.nonce) for e in of(events, "retry_budget_refused")] == [(0, "n2")]
    # n0 and n1 retry at 5: the debits of 0 s have expired, both are paid again.
    assert [(e.time, e.nonce) for e in of(events, "retry_scheduled")] == [(0, "n0"), (0, "n1"), (5.0, "n0"),
                                                                         (5.0, "n1")]


def test_a_requeue_deposits() -> None:
    world, events = make_world({"retry_policy": {"preset": "fixed", "base": 1, "max_retries": 30},
                                "retry_budget": {"percent_can_retry": 1.0, "min_retries_per_sec": 0}})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n")
    world.env.run(until=5)  # the deposit pays retry 1 at 0; retry 2 at 1 is refused
    assert dead_at(events, "n") == [1.0]
    world.requeue(world.bus.by_nonce["n"].id)
    world.env.run(until=20)
    assert dead_at(events, "n") == [1.0, 6.0]  # requeued at 5: its deposit pays one retry, at 5


# -- circuit breaker ---------------------------------------------------------------------

BREAKER = {"sliding_window_size": 2, "minimum_number_of_calls": 2, "wait_duration_in_open_state": 10,
           "permitted_number_of_calls_in_half_open_state": 1}


def test_the_breaker_opens_fails_fast_probes_half_open_and_closes() -> None:
    world, events = make_world({"retry_policy": {"preset": "fixed", "base": 1, "max_retries": 100},
                                "circuit_breaker": BREAKER})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n1")
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n2")
    world.env.run(until=15)
    world.agents[TARGET].connect()
    world.env.run(until=30)
    moves = [(e.time, e.nonce, e.data["from"], e.data["to"], e.data["reason"])
             for e in of(events, "breaker_transition")]
    assert moves == [
        (0, "n2", "CLOSED", "OPEN", "failure_rate"),      # two failures of two
        (11.0, "n1", "OPEN", "HALF_OPEN", "wait_elapsed"),  # the first call after 0 + 10 s
        (11.0, "n1", "HALF_OPEN", "OPEN", "failure_rate"),  # the probe fails (still offline)
        (22.0, "n1", "OPEN", "HALF_OPEN", "wait_elapsed"),
        (22.05, "n1", "HALF_OPEN", "CLOSED", "below_thresholds"),  # delivered after the agent's 50 ms
    ]
    # Fast failures: both rows at every tick 1..21 except n1's probe at 11, and n2 at 22 ...
    rejected = of(events, "breaker_rejected")
    assert len(rejected) == 2 * 21 - 1
    assert {e.data["state"] for e in rejected} == {"OPEN"}
    fast = [e for e in of(events, "attempt") if e.data["code"] == "CIRCUIT_OPEN"]
    assert len(fast) == len(rejected) and all(e.data["http_status"] is None for e in fast)
    # ... and no relay reached the directory for them: only 0, 0, 11 (the probe), 22, 22.1.
    assert [e.time for e in of(events, "relay")] == [0, 0, 11.0, 22.0, 22.05]
    assert [world.bus.by_nonce[n].status for n in ("n1", "n2")] == ["delivered", "delivered"]
    assert world.bus.breaker_transitions == {"OPEN": 2, "HALF_OPEN": 2, "CLOSED": 1}


def test_a_fast_failure_counts_toward_the_retry_limit() -> None:
    world, events = make_world({"retry_policy": {"preset": "fixed", "base": 1, "max_retries": 3},
                                "circuit_breaker": {**BREAKER, "minimum_number_of_calls": 1,
                                                    "sliding_window_size": 1}})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n")
    world.env.run(until=20)
    assert [(e.time, e.data["code"]) for e in of(events, "attempt")] == [
        (0, "OFFLINE"), (1.0, "CIRCUIT_OPEN"), (2.0, "CIRCUIT_OPEN"), (3.0, "CIRCUIT_OPEN")]
    row = world.bus.by_nonce["n"]
    assert (row.status, row.error_code, row.error) == ("dead_letter", "CIRCUIT_OPEN",
                                                      f"Circuit breaker OPEN for {SENDER} -> {TARGET}")


def test_a_bus_restart_forgets_budgets_and_breakers() -> None:
    world, _ = make_world({"retry_policy": {"preset": "fixed", "base": 1}, "circuit_breaker": BREAKER,
                           "retry_budget": {}})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n")
    world.env.run(until=3)
    assert (len(world.bus.budgets or {}), len(world.bus.breakers or {})) == (1, 1)
    world.restart_bus()
    assert (world.bus.budgets, world.bus.breakers) == ({}, {})


# -- metrics and spans -------------------------------------------------------------------


def series(world: World) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    layout, values = WorldCollector(world, latency_histogram(world.directory)).snapshot()
    return {(key.name, key.labels): value for key, value in zip(layout.series, values)}


def test_guard_metrics_appear_only_while_the_guards_are_on() -> None:
    plain, _ = make_world({})
    assert not any(name.startswith(("beamdrill_bus_retry_budget", "beamdrill_bus_breaker", "beamdrill_bus_circuit"))
                   for name, _ in series(plain))
    world, _ = make_world({"retry_policy": {"preset": "fixed", "base": 1, "max_retries": 100},
                           "circuit_breaker": BREAKER, "retry_budget": {"min_retries_per_sec": 1, "ttl": 1}})
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n1")
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n2")
    world.env.run(until=5)
    seen = series(world)
    assert seen[("beamdrill_bus_retry_budget_refusals_total", ())] == world.bus.budget_refusals > 0
    assert seen[("beamdrill_bus_breaker_rejections_total", ())] == world.bus.breaker_rejections > 0
    assert seen[("beamdrill_bus_breaker_transitions_total", (("to", "OPEN"),))] == 1
    assert seen[("beamdrill_bus_circuit_breakers", (("state", "OPEN"),))] == 1
    assert seen[("beamdrill_bus_circuit_breakers", (("state", "CLOSED"),))] == 0


def test_spans_carry_the_breaker_state_and_the_budget_refusal() -> None:
    world = World(parse_scenario({
        "name": "spans", **without_limits([{"id": SENDER}, {"id": TARGET, "connected": False}]),
        "retention": {"finished_rows": None},
        "bus": {"worker_interval": 1, "retry_policy": {"preset": "fixed", "base": 1, "max_retries": 30},
                "circuit_breaker": {**BREAKER, "sliding_window_size": 1, "minimum_number_of_calls": 1},
                "retry_budget": {"percent_can_retry": 1.0, "min_retries_per_sec": 0}}}), seed=1)
    recorder = SpanRecorder(world.seed)
    world.subscribe(recorder)
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n")
    world.env.run(until=5)
    # At 0 the attempt fails and opens the breaker (one call of one); the send's deposit pays
    # for retry 1 (100 %, no floor). At 1 the breaker fails the attempt fast, and retry 2 is
    # refused: nothing is left to pay for it.
    (spans,) = list(recorder.traces())
    delivers = [span for span in spans if span.name.startswith("deliver")]
    assert [span.attributes.get("beam.circuit_breaker.state") for span in delivers] == [None, "OPEN"]
    assert [span.status_message for span in delivers] == ["OFFLINE", "CIRCUIT_OPEN"]
    (settle,) = [span for span in spans if span.name.startswith("settle")]
    assert (settle.attributes["beam.retry_budget.refused"], settle.status_message) == (True, "RETRY_BUDGET_EXHAUSTED")
    assert "beam.retry_budget.refused" not in delivers[0].attributes
    assert spans[0].status_message == "RETRY_BUDGET_EXHAUSTED"


# -- scenario fields ---------------------------------------------------------------------


def bus_problems(bus: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"name": "t", "agents": [{"id": "a@x.beam"}], "bus": bus})
    return [problem.line() for problem in caught.value.problems]


PRESETS = "'beam', 'none', 'fixed', 'exponential', 'full_jitter', 'equal_jitter', 'decorrelated_jitter'"


@pytest.mark.parametrize(("bus", "line"), [
    ({"retry_policy": "bogus"}, f"bus.retry_policy.preset: expected a kind among {PRESETS}, found 'bogus'"),
    ({"retry_policy": {"base": 1}}, f"bus.retry_policy.preset: missing; expected a kind among {PRESETS}"),
    ({"retry_policy": {"preset": "full_jitter", "base": 10, "cap": 5}},
     "bus.retry_policy.cap: expected at least base (10 s), found 5 s"),
    ({"retry_policy": {"preset": "none", "base": 1}}, "bus.retry_policy.base: unknown key; expected one of: preset"),
    ({"retry_policy": {"preset": "exponential", "multiplier": 0.5}},
     "bus.retry_policy.multiplier: expected greater than or equal to 1, found 0.5"),
    ({"retry_policy": {"preset": "fixed", "max_retries": -1}},
     "bus.retry_policy.max_retries: expected greater than or equal to 0, found -1"),
    ({"retry_policy": "full_jitter", "max_retries": 3},
     "bus.retry_policy: the full_jitter preset counts its own max_retries (retries after the first attempt); "
     "expected bus.max_retries left at Beam's 5, found 3"),
    ({"retry_policy": 5}, "bus.retry_policy: expected a preset name like beam or full_jitter, or a mapping with "
                          "preset and its knobs, found 5"),
    ({"retry_budget": {"ttl": 0.5}}, "bus.retry_budget.ttl: expected greater than or equal to 1, found 0.5"),
    ({"circuit_breaker": {"failure_rate_threshold": 0}},
     "bus.circuit_breaker.failure_rate_threshold: expected greater than 0, found 0"),
])
def test_bad_policy_settings_are_one_line_each(bus: dict[str, Any], line: str) -> None:
    assert bus_problems(bus) == [f"<scenario>: {line}"]


def test_the_retention_horizon_must_outlast_the_presets_longest_span() -> None:
    # Waits at most min(3600, 60 * 2**n) = 120, 240, 480, 960, 1920 (3720 s), plus 6 * 60 s.
    assert bus_problems({"retry_policy": {"preset": "full_jitter", "base": 60, "cap": 3600, "max_retries": 5}}) == [
        "<scenario>: retention.finished_rows: expected null or at least 4080 s, the longest the bus can retry a "
        "message with these bus settings, found 3600 s"]


def test_a_resolved_scenario_writes_beam_as_before_and_leaves_off_guards_out() -> None:
    plain = parse_scenario({"name": "t", "agents": [{"id": "a@x.beam"}]})
    assert plain.bus.model_dump(mode="json", by_alias=True) == {
        "rate_limit_per_min": 10, "max_retries": 5, "worker_interval": 30.0, "worker_batch": 10,
        "attempt_timeout": 30.0, "retry_policy": "beam", "ip": None}
    chosen = parse_scenario({"name": "t", "agents": [{"id": "a@x.beam"}],
                             "bus": {"retry_policy": "decorrelated_jitter", "circuit_breaker": {}}})
    dumped = chosen.bus.model_dump(mode="json", by_alias=True)
    assert dumped["retry_policy"] == {"preset": "decorrelated_jitter", "base": 30.0, "cap": 480.0, "max_retries": 4,
                                      "multiplier": 3.0}
    assert "retry_budget" not in dumped and dumped["circuit_breaker"]["minimum_number_of_calls"] == 100
    # What was written loads back as the same scenario.
    again = parse_scenario({"name": "t", "agents": [{"id": "a@x.beam"}], "bus": dumped})
    assert again.bus == chosen.bus
