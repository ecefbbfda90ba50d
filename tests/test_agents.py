"""Agent behaviour: latency distributions, fixed-latency answers, failures, async acceptance
(beam-model §2.4), concurrency queueing, lost answers on disconnect (§3.2 step 9, §3.5) and
the demo's quote-desk and inventory handlers (§11)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import simpy

from conftest import open_acl, without_limits
from simulator.beam.agents import Agent, AgentResult, latency_sampler
from simulator.beam.relay import Frame, IntentRow
from simulator.kernel.events import Event
from simulator import load_scenario, parse_scenario
from simulator.scenario.parts import Latency
from simulator.scenario.model import AgentSpec
from simulator.world import World

SENDER = "sender@test.beam.directory"
TARGET = "target@test.beam.directory"
DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
N = 20_000


def make_world(target: dict[str, Any]) -> tuple[World, list[Event]]:
    """SENDER plus TARGET configured by ``target``, no traffic, rows kept, events captured."""
    agents = [{"id": SENDER}, {"id": TARGET, **target}]
    world = World(parse_scenario({"name": "agent-test", **without_limits(agents),
                                  "retention": {"finished_rows": None}}), seed=1)
    events: list[Event] = []
    world.subscribe(events.append)
    return world, events


def relay(world: World, nonce: str, origin: str = "ws"):
    return world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, nonce, world.env.now), origin)


def transition_times(events: list[Event], nonce: str, to: str, path: str = "directory") -> list[float]:
    return [e.time for e in events if e.kind == "transition" and e.nonce == nonce
            and e.data["path"] == path and e.data["to"] == to]


def draws(latency: dict[str, Any], n: int = N) -> list[float]:
    sample = latency_sampler(Latency.model_validate(latency), random.Random(12345))
    return [sample() for _ in range(n)]


def direct_answers(spec: dict[str, Any], count: int) -> list[AgentResult | None]:
    """Hand ``count`` intents straight to an Agent and collect what it answers."""
    env = simpy.Environment()
    agent = Agent(env, AgentSpec.model_validate({"id": TARGET, **spec}), random.Random(7))
    answers: dict[int, AgentResult | None] = {}
    for ticket in range(count):
        row = IntentRow(Frame("sender@beam.directory", TARGET, "conversation.message", {}, f"n-{ticket}", 0.0), "ws", 0.0)
        agent.accept(row, lambda t, result: answers.__setitem__(t, result), ticket)
    env.run(until=100)
    return [answers[t] for t in range(count)]


# -- latency_sampler -----------------------------------------------------------------------


def test_fixed_latency_always_returns_the_mean():
    assert set(draws({"dist": "fixed", "mean": 0.08}, 100)) == {0.08}


def test_uniform_latency_stays_within_low_high_and_spans_it():
    values = draws({"dist": "uniform", "low": 2.0, "high": 5.0})
    assert min(values) >= 2.0 and max(values) <= 5.0
    # Not stuck at one end: draws reach both edges to within 1 % of the width.
    assert min(values) < 2.03 and max(values) > 4.97
    # Mean 3.5, sd = 3/sqrt(12) ≈ 0.866, standard error ≈ 0.0061; 4 SE ≈ 0.0245.
    assert abs(sum(values) / N - 3.5) < 4 * (3 / math.sqrt(12)) / math.sqrt(N)


def test_exponential_latency_sample_mean_is_the_mean():
    # Exponential: sd = mean, so standard error = mean/sqrt(N) (0.0071·mean at N=20 000).
    # Bound: 4 standard errors.
    mean = 2.0
    values = draws({"dist": "exponential", "mean": mean})
    assert min(values) >= 0
    assert abs(sum(values) / N - mean) < 4 * mean / math.sqrt(N)


@pytest.mark.parametrize("sigma", [0.5, 1.0])
def test_lognormal_latency_sample_mean_is_the_mean(sigma):
    # Lognormal with mean m and shape σ: sd = m·sqrt(exp(σ²) − 1), so the standard error is
    # m·sqrt(exp(σ²) − 1)/sqrt(N). Bound: 4 standard errors (≈1.5 % for σ=0.5, 3.7 % for σ=1).
    mean = 0.3
    values = draws({"dist": "lognormal", "mean": mean, "sigma": sigma})
    assert min(values) > 0
    assert abs(sum(values) / N - mean) < 4 * mean * math.sqrt(math.exp(sigma**2) - 1) / math.sqrt(N)


@pytest.mark.parametrize("dist", ["fixed", "exponential", "lognormal"])
def test_zero_mean_latency_is_always_zero(dist):
    assert set(draws({"dist": dist, "mean": 0}, 100)) == {0.0}


# -- answering ------------------------------------------------------------------------------


def test_agent_acks_exactly_its_fixed_latency_after_the_relay():
    world, events = make_world({"latency": "2500ms"})
    world.env.run(until=3)
    event = relay(world, "a-fixed")
    world.env.run(until=100)
    assert transition_times(events, "a-fixed", "delivered") == [3.0]
    assert transition_times(events, "a-fixed", "acked") == [5.5]
    assert event.value.success is True


def test_failure_rate_one_fails_every_answer_with_the_failure_code():
    results = direct_answers({"failure_rate": 1.0, "failure_code": "INTENT_HANDLER_ERROR"}, 50)
    assert {(r.success, r.code) for r in results} == {(False, "INTENT_HANDLER_ERROR")}
    world, _ = make_world({"failure_rate": 1.0, "failure_code": "INTENT_HANDLER_ERROR"})
    for i in range(5):
        relay(world, f"a-fail-{i}")
    world.env.run(until=10)
    rows = [world.directory.rows[f"a-fail-{i}"] for i in range(5)]
    assert {(row.status, row.error_code) for row in rows} == {("failed", "INTENT_HANDLER_ERROR")}


def test_async_accept_one_answers_the_async_accepted_payload():
    results = direct_answers({"async_accept": 1.0}, 50)
    for result in results:
        assert result.success is True
        assert result.accepted_async is True
        payload = result.payload
        # §2.4: {accepted:true, acknowledgement:"accepted", terminal:false} (+ nextAction).
        assert (payload["accepted"], payload["acknowledgement"], payload["terminal"]) == (True, "accepted", False)
        assert payload["nextAction"] == "approval.pending"


def test_plain_success_and_failure_are_not_async_acceptances():
    assert AgentResult(True).accepted_async is False
    assert AgentResult(True, None, {"terminal": True}).accepted_async is False
    assert AgentResult(False, "RESULT_ERROR").accepted_async is False


def test_directory_acks_an_async_acceptance_ignoring_terminal():
    world, events = make_world({"async_accept": 1.0})
    event = relay(world, "a-async")
    world.env.run(until=10)
    assert world.directory.rows["a-async"].status == "acked"
    assert event.value.payload["terminal"] is False
    (result,) = [e for e in events if e.kind == "agent_result" and e.nonce == "a-async"]
    assert (result.data["success"], result.data["accepted_async"]) == (True, True)


# -- concurrency ------------------------------------------------------------------------------


def test_concurrency_two_queues_extra_intents_fifo():
    world, events = make_world({"latency": "10s", "concurrency": 2})
    for i in range(4):
        relay(world, f"a-c{i}")
    world.env.run(until=100)
    assert [transition_times(events, f"a-c{i}", "acked") for i in range(4)] == [[10.0], [10.0], [20.0], [20.0]]
    assert world.agents[TARGET].answered == 4


def test_concurrency_one_serves_the_waiting_queue_in_arrival_order():
    # With four intents above both waiting ones start at t=10, so the order is invisible;
    # one slot and three intents tell FIFO (5, 10, 15) from LIFO (5, 15, 10).
    world, events = make_world({"latency": "5s", "concurrency": 1})
    for i in range(3):
        relay(world, f"a-q{i}")
    world.env.run(until=100)
    assert [transition_times(events, f"a-q{i}", "acked") for i in range(3)] == [[5.0], [10.0], [15.0]]


# -- lost answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("origin, timeout", [("ws", 30.0), ("http", 60.0)])
def test_disconnect_while_working_loses_the_answer_and_times_out(origin, timeout):
    world, events = make_world({"latency": "10s"})
    event = relay(world, "a-lost", origin)
    world.env.run(until=5)
    world.agents[TARGET].disconnect()
    world.env.run(until=200)
    assert transition_times(events, "a-lost", "acked") == []
    assert transition_times(events, "a-lost", "failed") == [timeout]
    row = world.directory.rows["a-lost"]
    assert (row.status, row.error_code) == ("failed", "TIMEOUT")
    assert (event.value.http_status, event.value.relay_code) == (504, "TIMEOUT")
    assert world.agents[TARGET].answered == 0


def test_reconnect_before_the_answer_still_loses_it():
    # Agent docstring: a result produced for an older connection is lost.
    world, events = make_world({"latency": "10s"})
    relay(world, "a-reconnect", "ws")
    world.env.run(until=5)
    world.agents[TARGET].disconnect()
    world.env.run(until=6)
    world.agents[TARGET].connect()
    world.env.run(until=200)
    assert transition_times(events, "a-reconnect", "acked") == []
    assert transition_times(events, "a-reconnect", "failed") == [30.0]
    assert world.directory.rows["a-reconnect"].error_code == "TIMEOUT"


# -- demo handlers (§11) ------------------------------------------------------------------------


def demo_world(quantity: int) -> tuple[World, list[Event]]:
    demo = load_scenario(DEMO)
    workflow = demo.traffic.workflows[0].model_copy(update={"quantity": quantity})
    scenario = demo.model_copy(update={"traffic": demo.traffic.model_copy(update={"workflows": [workflow]})})
    world = World(scenario, seed=1)
    events: list[Event] = []
    world.subscribe(events.append)
    world.env.run(until=120)
    return world, events


def test_demo_quantity_240_is_available_and_totals_44160():
    world, events = demo_world(240)
    (run,) = world.traffic.quote_runs.values()
    assert (run.available, run.inventory_status, run.quote_status) == (True, "acked", "acked")
    assert run.total_price_eur == 44160  # 240 · 184
    # Quote at 5 s; desk latency 40 ms, then the warehouse answers after its 25 ms.
    assert transition_times(events, run.quote_nonce, "acked") == [5.0 + 0.04 + 0.025]


def test_demo_quantity_241_is_not_available():
    world, _ = demo_world(241)
    (run,) = world.traffic.quote_runs.values()
    assert (run.available, run.inventory_status) == (False, "acked")
    assert run.total_price_eur == 241 * 184  # 44344: §11 step 3, quantity·184
    inventory = world.directory.rows[run.inventory_nonce]
    assert inventory.result.payload["available"] is False
    assert inventory.result.payload["confidence"] == "high"
    assert inventory.result.payload["shipWindow"] == "Thu 08:00-12:00 CET"


def test_demo_preflight_enters_the_bus_only_after_the_quote_is_answered():
    world, events = demo_world(240)
    (run,) = world.traffic.quote_runs.values()
    transitions = [e for e in events if e.kind == "transition"]
    quote_acked = next(i for i, e in enumerate(transitions)
                       if e.nonce == run.quote_nonce and e.data["to"] == "acked")
    bus_received = next(i for i, e in enumerate(transitions)
                        if e.nonce == run.preflight_nonce and e.data["path"] == "bus" and e.data["to"] == "received")
    assert bus_received > quote_acked
    assert world.bus.by_nonce[run.preflight_nonce].created_at >= transitions[quote_acked].time
    assert run.preflight_bus_status == "delivered"


def test_intent_waiting_for_a_slot_is_lost_when_its_connection_is_replaced():
    """The answer goes out on the connection the intent arrived on; a reconnect replaces
    it (close code 1001), so even an intent still queued for a slot loses its answer."""
    agents = [{"id": "s@x.beam"}, {"id": "t@x.beam", "latency": "10s", "concurrency": 1}]
    world = World(parse_scenario({
        "name": "reconnect", "retention": {"finished_rows": None}, "agents": agents, "acl": open_acl(agents),
    }), seed=1)
    first = world.directory.relay(Frame("s@x.beam", "t@x.beam", "agent.ping", {}, "n1", 0.0), "ws")
    second = world.directory.relay(Frame("s@x.beam", "t@x.beam", "agent.ping", {}, "n2", 0.0), "ws")
    world.env.run(until=5)
    world.agents["t@x.beam"].disconnect()
    world.env.run(until=6)
    world.agents["t@x.beam"].connect()
    world.env.run(until=100)
    assert (first.value.error_code, second.value.error_code) == ("TIMEOUT", "TIMEOUT")
    assert world.directory.rows["n2"].status == "failed"
    assert world.agents["t@x.beam"].answered == 0
