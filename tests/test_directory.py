"""Directory relay behaviour against beam-model §3.2–§3.5, §11 and requirements §14.12,
§14.13, §14.20, §14.21."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import open_acl
from simulator.beam.relay import Frame, relay_http
from simulator.kernel.events import Event
from simulator import load_scenario, parse_scenario
from simulator.world import World

SENDER = "sender@test.beam.directory"
TARGET = "target@test.beam.directory"
OTHER = "other@test.beam.directory"
DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"


def make_world(agents: list[dict[str, Any]] | None = None, **directory: Any) -> tuple[World, list[Event]]:
    """SENDER plus ``agents`` (TARGET connected by default), no traffic, events captured."""
    specs = [{"id": SENDER}] + (agents if agents is not None else [{"id": TARGET}])
    world = World(parse_scenario({"name": "dir-test", "agents": specs, "directory": directory, "acl": open_acl(specs),
                                  "retention": {"finished_rows": None}}), seed=1)
    events: list[Event] = []
    world.subscribe(events.append)
    return world, events


def relay(world: World, nonce: str, origin: str = "http", sender: str = SENDER, recipient: str = TARGET,
          intent: str = "agent.ping", payload: dict[str, Any] | None = None):
    frame = Frame(sender, recipient, intent, payload if payload is not None else {}, nonce, world.env.now)
    return world.directory.relay(frame, origin)


def outcome_at(world: World, event, until: float):
    """Run to ``until`` and return the relay outcome, which must have fired by then."""
    world.env.run(until=until)
    assert event.triggered
    return event.value


def settle_time(world: World, event, horizon: float = 1000.0) -> float:
    """Return the virtual time at which ``event`` fired."""
    fired: list[float] = []
    event.callbacks.append(lambda _e: fired.append(world.env.now))
    world.env.run(until=horizon)
    assert fired, "relay never answered"
    return fired[0]


def dir_path(events: list[Event], nonce: str) -> list[str]:
    return [e.data["to"] for e in events
            if e.kind == "transition" and e.nonce == nonce and e.data["path"] == "directory"]


# -- routing outcomes --------------------------------------------------------------------


def test_connected_recipient_success_is_200_and_row_acked():
    world, events = make_world()
    out = outcome_at(world, relay(world, "d-ok"), 1)
    assert (out.http_status, out.success, out.error_code, out.cached) == (200, True, None, False)
    assert world.directory.rows["d-ok"].status == "acked"
    assert dir_path(events, "d-ok") == ["received", "validated", "dispatched", "delivered", "acked"]


def test_offline_recipient_is_503_offline_and_row_failed():
    world, events = make_world([{"id": TARGET, "connected": False}])
    out = outcome_at(world, relay(world, "d-off"), 1)
    assert (out.http_status, out.success, out.error_code, out.relay_code) == (503, False, "OFFLINE", "OFFLINE")
    row = world.directory.rows["d-off"]
    assert (row.status, row.error_code) == ("failed", "OFFLINE")
    # §3.2 trace: received>validated>dispatched>failed
    assert dir_path(events, "d-off") == ["received", "validated", "dispatched", "failed"]


def test_unknown_recipient_is_503_offline():
    world, _ = make_world()
    out = outcome_at(world, relay(world, "d-nobody", recipient="nobody@test.beam.directory"), 1)
    assert (out.http_status, out.error_code, out.relay_code) == (503, "OFFLINE", "OFFLINE")
    assert world.directory.rows["d-nobody"].status == "failed"


@pytest.mark.parametrize("origin, expected", [
    # Over HTTP the trust gate sees an unknown sender's trust as 0, below min 0.3 (§7).
    ("http", (403, "SHIELD_LOW_TRUST", "SHIELD_LOW_TRUST")),
    # Over WebSocket there is no trust gate; the relay finds no key (§3.2 step 3).
    ("ws", (400, "INVALID_INTENT", "BAD_REQUEST")),
])
def test_unknown_sender_is_refused_and_gets_no_row(origin, expected):
    world, _ = make_world()
    out = outcome_at(world, relay(world, "d-ghost", origin=origin, sender="ghost@test.beam.directory"), 1)
    assert (out.http_status, out.error_code, out.relay_code) == expected
    assert "d-ghost" not in world.directory.rows


def test_echo_agent_acks_at_once():
    world, events = make_world()
    event = relay(world, "d-echo", recipient="echo@beam.directory")
    assert settle_time(world, event) == 0
    assert (event.value.http_status, event.value.success) == (200, True)
    assert dir_path(events, "d-echo") == ["received", "validated", "dispatched", "delivered", "acked"]


def test_http_relay_times_out_at_60s_with_504():
    world, _ = make_world([{"id": TARGET, "latency": "70s"}])
    event = relay(world, "d-slow-http", origin="http")
    assert settle_time(world, event) == 60
    assert (event.value.http_status, event.value.error_code, event.value.relay_code) == (504, "TIMEOUT", "TIMEOUT")
    row = world.directory.rows["d-slow-http"]
    assert (row.status, row.error_code) == ("failed", "TIMEOUT")


def test_ws_relay_times_out_at_30s():
    world, _ = make_world([{"id": TARGET, "latency": "70s"}])
    event = relay(world, "d-slow-ws", origin="ws")
    assert settle_time(world, event) == 30
    assert (event.value.relay_code, world.directory.rows["d-slow-ws"].status) == ("TIMEOUT", "failed")


def test_answer_before_timeout_is_acked_at_agent_latency():
    world, _ = make_world([{"id": TARGET, "latency": "59s"}])
    event = relay(world, "d-59", origin="http")
    assert settle_time(world, event) == 59
    assert event.value.success is True


def test_recipient_failure_is_http_200_success_false_result_error_by_default():
    world, _ = make_world([{"id": TARGET, "failure_rate": 1.0}])
    out = outcome_at(world, relay(world, "d-fail"), 1)
    assert (out.http_status, out.success, out.error_code) == (200, False, "RESULT_ERROR")
    row = world.directory.rows["d-fail"]
    assert (row.status, row.error_code) == ("failed", "RESULT_ERROR")


def test_recipient_failure_carries_the_agents_error_code():
    world, _ = make_world([{"id": TARGET, "failure_rate": 1.0, "failure_code": "INTENT_HANDLER_ERROR"}])
    out = outcome_at(world, relay(world, "d-fail2"), 1)
    assert (out.http_status, out.success, out.error_code) == (200, False, "INTENT_HANDLER_ERROR")


# -- nonce claims (§3.3) -----------------------------------------------------------------


def test_same_nonce_while_in_flight_within_120s_is_409_in_progress():
    world, _ = make_world([{"id": TARGET, "latency": "200s"}], http_result_timeout=300)
    relay(world, "d-busy")
    world.env.run(until=120)
    out = outcome_at(world, relay(world, "d-busy"), 120.5)
    assert (out.http_status, out.error_code, out.relay_code) == (409, "IN_PROGRESS", "IN_PROGRESS")
    assert world.agents[TARGET].received == 1
    assert world.directory.rows["d-busy"].status == "delivered"


def test_same_nonce_in_flight_over_120s_is_reset_and_accepted():
    world, _ = make_world([{"id": TARGET, "latency": "200s"}], http_result_timeout=300)
    relay(world, "d-stale")
    world.env.run(until=121)
    second = relay(world, "d-stale")
    world.env.run(until=122)
    assert not second.triggered  # accepted: waiting for the agent, not answered from the claim
    assert world.agents[TARGET].received == 2
    assert world.directory.claims["reset"] == 1
    assert settle_time(world, second) == 321  # 121 + 200 s latency
    assert second.value.success is True


@pytest.mark.parametrize("change", [{"recipient": OTHER}, {"sender": OTHER}, {"intent": "task.delegate"}])
def test_same_nonce_different_from_to_or_intent_is_400_invalid_intent(change):
    world, _ = make_world([{"id": TARGET}, {"id": OTHER}])
    outcome_at(world, relay(world, "d-reuse"), 1)
    out = outcome_at(world, relay(world, "d-reuse", **change), 2)
    assert (out.http_status, out.error_code, out.relay_code) == (400, "INVALID_INTENT", "BAD_REQUEST")
    assert world.directory.rows["d-reuse"].recipient == TARGET


def test_acked_nonce_returns_cached_result_without_redelivery_or_new_transitions():
    world, events = make_world([{"id": TARGET, "async_accept": 1.0}])
    first = outcome_at(world, relay(world, "d-done"), 1)
    before = len([e for e in events if e.kind == "transition"])
    second = outcome_at(world, relay(world, "d-done"), 2)
    assert (second.http_status, second.success, second.cached) == (200, True, True)
    assert second.payload == first.payload
    assert second.payload["acknowledgement"] == "accepted"
    assert world.agents[TARGET].received == 1
    assert len([e for e in events if e.kind == "transition"]) == before
    assert world.directory.claims["cached"] == 1


def test_cached_result_ignores_a_different_payload():
    # §3.3: the payload is not compared.
    world, _ = make_world()
    outcome_at(world, relay(world, "d-pl", payload={"a": 1}), 1)
    out = outcome_at(world, relay(world, "d-pl", payload={"a": 2}), 2)
    assert (out.http_status, out.success, out.cached) == (200, True, True)
    assert world.agents[TARGET].received == 1


def test_non_retryable_failure_returns_cached_failure():
    world, _ = make_world([{"id": TARGET, "failure_rate": 1.0}])
    outcome_at(world, relay(world, "d-bad"), 1)
    out = outcome_at(world, relay(world, "d-bad"), 2)
    assert (out.http_status, out.success, out.error_code, out.cached) == (200, False, "RESULT_ERROR", True)
    assert world.agents[TARGET].received == 1
    assert world.directory.rows["d-bad"].status == "failed"


def test_offline_failure_is_reset_and_redelivered_once_agent_is_back():
    # Documented mode (§3.3 reset for retryable codes; §14.22 documented-mode).
    world, _ = make_world([{"id": TARGET, "connected": False}])
    assert outcome_at(world, relay(world, "d-back"), 1).http_status == 503
    world.agents[TARGET].connect()
    out = outcome_at(world, relay(world, "d-back"), 2)
    assert (out.http_status, out.success, out.cached) == (200, True, False)
    assert world.agents[TARGET].received == 1
    assert world.directory.rows["d-back"].status == "acked"
    assert world.directory.claims["reset"] == 1


def test_timeout_failure_is_reset_and_redelivered():
    world, _ = make_world([{"id": TARGET, "latency": "70s"}])
    outcome_at(world, relay(world, "d-to"), 61)
    second = relay(world, "d-to")
    world.env.run(until=62)
    assert not second.triggered
    assert world.agents[TARGET].received == 2


# -- relay error → HTTP (§3.4) ------------------------------------------------------------


@pytest.mark.parametrize("code, expected", [
    ("OFFLINE", (503, "OFFLINE")),
    ("TIMEOUT", (504, "TIMEOUT")),
    ("BAD_REQUEST", (400, "INVALID_INTENT")),
    ("FORBIDDEN", (403, "FORBIDDEN")),
    ("RATE_LIMITED", (429, "RATE_LIMITED")),
    ("IN_PROGRESS", (409, "IN_PROGRESS")),
    ("DELIVERY_FAILED", (500, "RELAY_ERROR")),
    ("SOMETHING_ELSE", (500, "RELAY_ERROR")),
])
def test_relay_error_maps_to_http_status_and_body_code(code, expected):
    assert relay_http(code) == expected


def test_relay_check_rejection_uses_the_mapping():
    world, _ = make_world()  # no ACL row lets anyone send agent.introduce
    out = outcome_at(world, relay(world, "d-acl", intent="agent.introduce"), 1)
    assert (out.http_status, out.success, out.error_code, out.relay_code) == (403, False, "FORBIDDEN", "FORBIDDEN")
    assert "d-acl" not in world.directory.rows


# -- the demo (§11, §14.21) --------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> World:
    world = World(load_scenario(DEMO))
    world.run()
    return world


def test_demo_quote_inventory_and_preflight_directory_rows_are_acked(demo):
    rows = demo.directory.rows.values()
    assert sorted(row.intent for row in rows) == ["inventory.check", "purchase.preflight", "quote.request"]
    assert {row.intent: row.status for row in rows} == {
        "quote.request": "acked", "inventory.check": "acked", "purchase.preflight": "acked"}


def test_demo_preflight_bus_row_is_delivered_and_no_dead_letters(demo):
    stats = demo.bus.stats()
    assert (stats["total"], stats["delivered"], stats["dead_letter"]) == (1, 1, 0)
    assert demo.bus.dead_letters() == []
    (msg,) = demo.bus.by_id.values()
    assert (msg.sender, msg.recipient, msg.intent) == (
        "partner-desk@northwind.beam.directory", "finance@acme.beam.directory", "purchase.preflight")
    assert demo.directory.rows[msg.nonce].status == "acked"


def test_demo_quote_run_reports_total_44160_and_async_acceptance(demo):
    (run,) = demo.traffic.quote_runs.values()
    assert run.total_price_eur == 44160
    assert run.quote_status == "acked"
    assert run.inventory_status == "acked"
    assert run.available is True
    assert run.preflight_http_status == 201
    assert run.preflight_bus_status == "delivered"
    assert (run.finance_received, run.acknowledgement, run.terminal) == (True, "accepted", False)
    msg = demo.bus.by_nonce[run.preflight_nonce]
    assert msg.payload == {"requestNonce": run.quote_nonce, "sku": "INV-240", "quantity": 240,
                           "totalPriceEur": 44160}
