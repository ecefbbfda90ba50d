"""Directory stop, start and restart recovery against beam-model §3.10 and requirement §14.29.

The recovery sweep ticks every 5 s from t=0 (5, 10, 15, …). Agents answer after
``latency``; a WebSocket-originated intent waits 30 s for its result, an HTTP one 60 s.
"""

from __future__ import annotations

from typing import Any

import pytest

from conftest import open_acl
from simulator.beam.relay import Frame
from simulator import parse_scenario
from simulator.world import World

SENDER = "sender@test.beam.directory"
TARGET = "target@test.beam.directory"
OTHER = "other@test.beam.directory"


def make_world(target: dict[str, Any] | None = None, other: dict[str, Any] | None = None,
               quirks: dict[str, bool] | None = None, **directory: Any) -> World:
    specs = [{"id": SENDER}, {"id": TARGET, **(target or {})}, {"id": OTHER, **(other or {})}]
    return World(parse_scenario({"name": "recovery-test", "agents": specs, "acl": open_acl(specs),
                                 "directory": directory, "quirks": quirks or {},
                                 "retention": {"finished_rows": None}}), seed=1)


def relay(world: World, nonce: str, origin: str = "ws", timestamp: float | None = None):
    frame = Frame(SENDER, TARGET, "agent.ping", {}, nonce, world.env.now if timestamp is None else timestamp)
    return world.directory.relay(frame, origin)


def run(world: World, until: float) -> None:
    if until > world.env.now:
        world.env.run(until=until)


def state(world: World, nonce: str) -> tuple[str, str | None, float | None]:
    row = world.directory.rows[nonce]
    return row.status, row.error_code, row.finished_at


# -- in-flight rows on boot --------------------------------------------------------------------


@pytest.mark.parametrize("status", ["received", "validated", "queued", "dispatched"])
def test_restart_fails_interrupted_rows_with_delivery_failed(status):
    world = make_world({"connected": False})
    relay(world, "n-int")
    run(world, 1)
    row = world.directory.rows["n-int"]
    world.directory.ledger.force(row, status)  # as the SQLite row reads at boot
    world.directory.restart()
    assert state(world, "n-int") == ("failed", "DELIVERY_FAILED", 1)


def test_restart_fails_row_stuck_received_by_the_retry_trace_guard():
    # §3.9/1: a retryable failure resent over HTTP leaves the row `received`; a restart ends it.
    world = make_world({"connected": False}, quirks={"retry_trace_guard": True})
    relay(world, "n-stuck", origin="http")
    run(world, 1)
    out = relay(world, "n-stuck", origin="http")
    run(world, 2)
    assert (out.value.http_status, world.directory.rows["n-stuck"].status) == (500, "received")
    world.directory.restart()
    assert state(world, "n-stuck") == ("failed", "DELIVERY_FAILED", 2)


def test_restart_fails_row_stuck_validated_by_clock_skew():
    # §3.9/2: a sender clock 1 s ahead leaves the row `validated`.
    world = make_world(quirks={"clock_skew_trace": True})
    run(world, 10)
    out = relay(world, "n-skew", origin="http", timestamp=11.0)
    run(world, 11)
    assert (out.value.http_status, world.directory.rows["n-skew"].status) == (500, "validated")
    world.directory.restart()
    assert state(world, "n-skew") == ("failed", "DELIVERY_FAILED", 11)


# -- delivered rows on boot and the sweep ---------------------------------------------------------


def test_delivered_row_younger_than_timeout_is_resumed_then_swept_at_30s():
    world = make_world({"latency": "100s"})
    relay(world, "n-res", origin="ws")  # delivered at t=0, waits 30 s
    run(world, 10)
    world.directory.restart()
    assert world.directory.rows["n-res"].status == "delivered"
    run(world, 29.9)
    assert world.directory.rows["n-res"].status == "delivered"
    run(world, 31)
    assert state(world, "n-res") == ("failed", "TIMEOUT", 30)


def test_sweep_fails_resumed_row_at_the_first_tick_past_its_timeout():
    world = make_world({"latency": "100s"})
    run(world, 2)
    relay(world, "n-tick", origin="ws")  # delivered at t=2: timeout passes at 32
    run(world, 12)
    world.directory.restart()
    run(world, 34.9)
    assert world.directory.rows["n-tick"].status == "delivered"
    run(world, 36)
    assert state(world, "n-tick") == ("failed", "TIMEOUT", 35)  # sweep ticks 30, 35


def test_resumed_http_row_keeps_its_60s_timeout():
    world = make_world({"latency": "100s"})
    relay(world, "n-http", origin="http")
    run(world, 10)
    world.directory.restart()
    run(world, 59.9)
    assert world.directory.rows["n-http"].status == "delivered"
    run(world, 61)
    assert state(world, "n-http") == ("failed", "TIMEOUT", 60)


def test_delivered_row_older_than_timeout_fails_timeout_at_boot():
    world = make_world({"latency": "100s"})
    relay(world, "n-old", origin="ws")  # delivered at t=0, 30 s timeout
    run(world, 10)
    world.directory.restart(downtime=42)  # boots at t=52
    run(world, 51.9)
    assert world.directory.rows["n-old"].status == "delivered"  # nothing runs while down
    run(world, 53)
    assert state(world, "n-old") == ("failed", "TIMEOUT", 52)
    assert world.directory.resumed == set()


# -- while stopped -------------------------------------------------------------------------------


def test_relay_while_stopped_gets_no_response():
    world = make_world()
    world.directory.stop("test")
    event = relay(world, "n-down", origin="http")
    run(world, 1)
    assert (event.value.http_status, event.value.success) == (0, False)
    assert "n-down" not in world.directory.rows


def test_bus_attempt_while_stopped_is_delivery_failed_and_retried_after_start():
    world = make_world()
    world.directory.stop("test")
    sent = world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="retry-nonce-1")
    run(world, 1)
    body = sent.value.body
    assert (sent.value.http_status, body["status"], body["error_code"]) == (201, "queued", "DELIVERY_FAILED")
    msg = world.bus.by_nonce["retry-nonce-1"]
    assert msg.next_retry_at == 28  # d(1) = 28 s from created_at (§14.3)
    run(world, 10)
    world.directory.start()
    run(world, 31)  # the worker tick at t=30 retries it
    assert msg.status == "delivered"
    assert world.directory.rows["retry-nonce-1"].status == "acked"


def test_connected_agents_reconnect_on_start():
    world = make_world(other={"connected": False})
    world.directory.stop("test")
    assert not world.agents[TARGET].connected
    run(world, 5)
    world.directory.start()
    assert (world.agents[TARGET].connected, world.agents[OTHER].connected) == (True, False)
    event = relay(world, "n-after")
    run(world, 6)
    assert event.value.success is True


# -- what survives a restart ---------------------------------------------------------------------


def test_restart_resets_relay_per_sender_rate_map():
    world = make_world(rate_limit_per_min=2)
    events = [relay(world, f"r{i}") for i in range(3)]
    run(world, 1)
    assert [e.value.http_status for e in events] == [200, 200, 429]
    world.directory.restart()
    event = relay(world, "r-after")
    run(world, 2)
    assert event.value.http_status == 200


def test_public_windows_persist_across_restart():
    world = make_world(public_limits={"per_sender_per_min": 2})
    events = [relay(world, f"p{i}", origin="http") for i in range(3)]
    run(world, 1)
    assert [e.value.http_status for e in events] == [200, 200, 429]
    world.directory.restart()
    event = relay(world, "p-after", origin="http")
    run(world, 2)
    assert (event.value.http_status, event.value.error_code) == (429, "RATE_LIMITED")


def test_trust_gate_pair_windows_persist_across_restart():
    world = make_world({"shield": {"rate_limit": 2}})
    events = [relay(world, f"g{i}", origin="http") for i in range(3)]
    run(world, 1)
    assert [e.value.error_code for e in events] == [None, None, "SHIELD_RATE_LIMITED"]
    world.directory.restart()
    event = relay(world, "g-after", origin="http")
    run(world, 2)
    assert event.value.error_code == "SHIELD_RATE_LIMITED"
