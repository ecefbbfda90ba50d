"""The bench's bare-SimPy reference model: the flow it derives from a scenario, and what
becomes of every message it sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator import load_scenario, parse_scenario
from simulator.reference import ReferenceFlow, ReferenceModel, ReferenceRoute, reference_flow

PARTNER_DAY = load_scenario(Path(__file__).resolve().parent.parent / "scenarios" / "partner-day.yaml")


def test_flow_has_partner_days_routes_scaled_to_the_rate_asked():
    flow = reference_flow(PARTNER_DAY, intents_per_second=20.0, failure_rate=0.01)
    assert len(flow.routes) == len(PARTNER_DAY.traffic.routes) == 29
    assert sum(route.rate for route in flow.routes) == pytest.approx(20.0)
    assert [route.via_bus for route in flow.routes] == [route.via == "bus" for route in PARTNER_DAY.traffic.routes]
    assert sum(route.via_bus for route in flow.routes) == 5
    assert (flow.failure_rate, flow.max_retries) == (0.01, 5)


def test_flow_latency_is_the_recipients_rate_weighted_mean():
    scenario = parse_scenario({
        "name": "two",
        "agents": [{"id": "a@x", "latency": "100ms"}, {"id": "b@x", "latency": "300ms"},
                   {"id": "c@x", "connected": False, "latency": "1s"}],
        "traffic": {"routes": [{"from": "a@x", "to": "b@x", "intent": "agent.ping", "rate": 3},
                               {"from": "b@x", "to": "a@x", "intent": "agent.ping", "rate": 1, "via": "bus"},
                               {"from": "a@x", "to": "c@x", "intent": "agent.ping", "rate": 1}]},
    })
    flow = reference_flow(scenario, 10.0, 0.0)
    assert flow.mean_latency == pytest.approx((3 * 0.3 + 1 * 0.1 + 1 * 0.0) / 5)
    assert [route.rate for route in flow.routes] == pytest.approx([6.0, 2.0, 2.0])


def test_flow_needs_traffic():
    scenario = parse_scenario({"name": "quiet", "agents": [{"id": "a@x"}]})
    with pytest.raises(ValueError, match="no traffic routes"):
        reference_flow(scenario, 1.0, 0.0)


def test_every_message_settles_and_nothing_fails_without_failures():
    model = ReferenceModel(ReferenceFlow((ReferenceRoute(3.0, False), ReferenceRoute(1.0, True)), 0.0), seed=4)
    model.run(2000)
    assert (model.sent, model.delivered, model.failed, model.dead_letters) == (2000, 2000, 0, 0)
    assert (model.attempts, model.retries) == (2000, 0)


def test_failing_attempts_retry_through_the_bus_only_then_dead_letter():
    model = ReferenceModel(ReferenceFlow((ReferenceRoute(1.0, False), ReferenceRoute(1.0, True)), 1.0), seed=4)
    model.run(1000)
    direct = model.failed
    bus = model.dead_letters
    assert model.delivered == 0
    assert direct + bus == 1000
    assert model.attempts == direct + 5 * bus  # five attempts in all, then the dead letter
    assert model.retries == 4 * bus
    assert model.env.now > 30 + 60 + 120 + 240 - 0.15 * 450  # the last dead letter waited Beam's schedule
