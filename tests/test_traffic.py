"""Traffic: Poisson routes, the daily profile and bursts, bus/http/ws routes, and the
scripted quote workflow of beam-model §11."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from conftest import without_limits
from simulator import load_scenario, parse_scenario
from simulator.world import World

A = "a@test.beam.directory"
B = "b@test.beam.directory"
DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
HOUR = 3600.0


def route(name: str, via: str = "ws", rate: Any = "5/s", intent: str = "agent.ping") -> dict[str, Any]:
    return {"name": name, "from": A, "to": B, "intent": intent, "via": via, "rate": rate}


def make_world(traffic: dict[str, Any], seed: int = 1, **extra: Any) -> World:
    """A (sender) and B (connected, answers at once) carrying ``traffic``; rows kept."""
    agents = [{"id": A}, {"id": B, "latency": 0}]
    return World(parse_scenario({"name": "traffic-test", **without_limits(agents),
                                 "retention": {"finished_rows": None}, "traffic": traffic, **extra}), seed=seed)


def sent_after(traffic: dict[str, Any], until: float, seed: int = 1) -> int:
    world = make_world(traffic, seed)
    world.env.run(until=until)
    (count,) = world.traffic.sent.values()
    return count


# -- Poisson arrivals -------------------------------------------------------------------------

POISSON = {"routes": [route("poisson", "ws", "5/s")]}
#: 20 minutes at 5/s: 6,000 sends each run is plenty for a 4σ bound (two hours, 36,000
#: sends with every row kept, cost three runs of 2 s each for the same check).
POISSON_FOR = 1200.0


@pytest.fixture(scope="module")
def poisson_counts() -> tuple[int, int, int]:
    return (sent_after(POISSON, POISSON_FOR, 1), sent_after(POISSON, POISSON_FOR, 1),
            sent_after(POISSON, POISSON_FOR, 2))


def test_poisson_route_count_is_within_4_sigma_of_rate_times_duration(poisson_counts):
    expected = 5 * POISSON_FOR  # 6 000; a Poisson count has σ = sqrt(6 000) ≈ 77.5
    assert abs(poisson_counts[0] - expected) <= 4 * math.sqrt(expected)


def test_poisson_route_same_seed_same_count_other_seed_other_count(poisson_counts):
    first, again, other = poisson_counts
    assert first == again
    assert other != first


def test_poisson_route_count_equals_directory_rows():
    world = make_world(POISSON)
    world.env.run(until=600)
    assert world.traffic.sent["poisson"] == world.directory.ledger.accepted > 0


# -- rate_at and next_change --------------------------------------------------------------------

# Hour h has factor (h+1)/4 (exact in binary); route rate 4/s, so hour 9 runs at 4·2.5 = 10/s.
PROFILE = [(h + 1) / 4 for h in range(24)]
SHAPED = {
    "routes": [route("shaped", rate="4/s"), route("other", rate="4/s", intent="agent.other")],
    "daily_profile": PROFILE,
    # 09:30–09:40 on day 0, ×3: 30/s
    "bursts": [{"route": "shaped", "start": "9h30m", "duration": "10m", "multiplier": 3}],
}


@pytest.fixture
def shaped() -> tuple[Any, Any, Any]:
    world = make_world(SHAPED)
    shaped_route, other_route = world.scenario.traffic.routes
    return world.traffic, shaped_route, other_route


@pytest.mark.parametrize("t, rate", [
    (0.0, 1.0),                  # hour 0: 4 · 0.25
    (9 * HOUR, 10.0),            # hour 9: 4 · 2.5
    (9 * HOUR + 1799.5, 10.0),   # just before the burst
    (9.5 * HOUR, 30.0),          # burst start edge is inside: 10 · 3
    (9.5 * HOUR + 599.5, 30.0),  # still inside
    (9.5 * HOUR + 600, 10.0),    # end edge is outside: window is [start, start+duration)
    (10 * HOUR, 11.0),           # hour 10: 4 · 2.75
    (23 * HOUR + 1, 24.0),       # hour 23: 4 · 6
    (86400 + 9.5 * HOUR, 10.0),  # hour 9 of day 1: the profile repeats, the burst does not
])
def test_rate_at_applies_hour_factor_and_burst_multiplier(shaped, t, rate):
    traffic, shaped_route, _ = shaped
    assert traffic.rate_at(shaped_route, t) == rate


def test_rate_at_burst_applies_only_to_its_route(shaped):
    traffic, _, other_route = shaped
    assert traffic.rate_at(other_route, 9.5 * HOUR + 1) == 10.0


@pytest.mark.parametrize("t, change", [
    (0.0, HOUR),
    (9 * HOUR, 9.5 * HOUR),                # burst start comes before the 10:00 edge
    (9.5 * HOUR, 9.5 * HOUR + 600),        # at the start edge: next is the burst end
    (9.5 * HOUR + 600, 10 * HOUR),         # at the end edge: next hour edge
    (10 * HOUR, 11 * HOUR),
    (86400 + 9.5 * HOUR, 86400 + 10 * HOUR),
])
def test_next_change_is_the_next_hour_or_burst_edge(shaped, t, change):
    traffic, shaped_route, _ = shaped
    assert traffic.next_change(shaped_route, t) == change


def test_next_change_ignores_other_routes_bursts(shaped):
    traffic, _, other_route = shaped
    assert traffic.next_change(other_route, 9 * HOUR) == 10 * HOUR


def test_unshaped_route_has_constant_rate_and_no_change():
    world = make_world({"routes": [route("flat", rate="4/s")]})
    (flat,) = world.scenario.traffic.routes
    assert world.traffic.rate_at(flat, 12345.0) == 4.0
    assert world.traffic.next_change(flat, 12345.0) == math.inf


def test_zero_profile_factor_sends_nothing_in_that_hour():
    world = make_world({"routes": [route("night", rate="1/s")], "daily_profile": [0.0] + [1.0] * 23})
    world.env.run(until=HOUR)
    assert world.traffic.sent["night"] == 0
    world.env.run(until=2 * HOUR)
    # Hour 1 at 1/s: 3600 expected, σ = 60; 4σ bound.
    assert abs(world.traffic.sent["night"] - 3600) <= 240


def test_burst_multiplies_arrivals_inside_its_window():
    # 1/s base, ×10 for [100, 400): expected 100 + 3000 + 200 = 3300 by t=700, σ ≈ 57.4; 4σ.
    world = make_world({"routes": [route("spiky", rate="1/s")],
                        "bursts": [{"route": "spiky", "start": 100, "duration": 300, "multiplier": 10}]})
    world.env.run(until=700)
    assert abs(world.traffic.sent["spiky"] - 3300) <= 4 * math.sqrt(3300)


# -- transports -------------------------------------------------------------------------------------


def test_bus_route_creates_one_bus_row_per_send():
    world = make_world({"routes": [route("via-bus", "bus", "1/s")]}, bus={"rate_limit_per_min": 10_000})
    world.env.run(until=600)
    sent = world.traffic.sent["via-bus"]
    assert sent > 0
    assert world.bus.ledger.accepted == sent
    assert world.bus.stats()["total"] == sent
    # The bus delivers through POST /intents/send (§1), so the directory rows are http-origin.
    assert {row.origin for row in world.directory.rows.values()} == {"http"}


def test_http_and_ws_routes_give_directory_rows_of_that_origin():
    world = make_world({"routes": [route("over-http", "http", "1/s", "agent.ping"),
                                   route("over-ws", "ws", "1/s", "task.delegate")]})
    world.env.run(until=300)
    origins: dict[str, set[str]] = {"agent.ping": set(), "task.delegate": set()}
    for row in world.directory.rows.values():
        origins[row.intent].add(row.origin)
    assert origins == {"agent.ping": {"http"}, "task.delegate": {"ws"}}
    counts = {intent: sum(row.intent == intent for row in world.directory.rows.values()) for intent in origins}
    assert counts == {"agent.ping": world.traffic.sent["over-http"], "task.delegate": world.traffic.sent["over-ws"]}
    assert world.bus.ledger.accepted == 0


# -- quote workflow (§11) ----------------------------------------------------------------------------


def test_quote_workflow_runs_count_times_every_apart():
    demo = load_scenario(DEMO)
    workflow = demo.traffic.workflows[0].model_copy(update={"at": 5.0, "every": 60.0, "count": 3})
    scenario = demo.model_copy(update={"duration": 300.0,
                                       "traffic": demo.traffic.model_copy(update={"workflows": [workflow]})})
    world = World(scenario, seed=1)
    world.run()
    runs = list(world.traffic.quote_runs.values())
    assert [run.started_at for run in runs] == [5.0, 65.0, 125.0]
    for run in runs:
        assert (run.quote_status, run.quote_http_status, run.total_price_eur) == ("acked", 200, 44160)
        assert (run.preflight_http_status, run.preflight_bus_status) == (201, "delivered")
        assert (run.finance_received, run.acknowledgement, run.terminal) == (True, "accepted", False)
    assert world.bus.stats()["delivered"] == 3
    assert len(world.directory.rows) == 9  # 3 rows per clean run (§11)
