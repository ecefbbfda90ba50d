"""Fidelity: Beam as documented against Beam as coded (beam-model §3.9, §5, §14.22, §14.30,
§15). Each quirk's test runs both modes side by side; ``fidelity: as-coded`` turns every
quirk on and single ``quirks:`` entries override it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import open_acl, without_limits
from simulator.beam.relay import Frame
from simulator import parse_scenario
from simulator.world import World

SENDER = "sender@test.beam.directory"
TARGET = "target@test.beam.directory"
OTHER = "other@test.beam.directory"
DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "demo.yaml"
FINANCE = "finance@acme.beam.directory"
QUIRKS = ("retry_trace_guard", "clock_skew_trace", "late_result_crash", "trust_gate_window_wipe",
          "rate_limit_env_sets_both")
FIDELITIES = ["documented", "as-coded"]


def make_world(fidelity: str, agents: list[dict[str, Any]] | None = None, **extra: Any) -> World:
    specs = agents if agents is not None else [{"id": SENDER}, {"id": TARGET}, {"id": OTHER}]
    return World(parse_scenario({"name": "fidelity-test", **without_limits(specs), "fidelity": fidelity,
                                 "retention": {"finished_rows": None}, **extra}), seed=1)


def run_to(world: World, t: float) -> None:
    if t > world.env.now:
        world.env.run(until=t)


def relay_at(world: World, t: float, nonce: str, origin: str = "http", sender: str = SENDER,
             recipient: str = TARGET):
    """Relay at ``t`` with the sender's clock; return the outcome once it has fired."""
    run_to(world, t)
    event = world.directory.relay(Frame(sender, recipient, "agent.ping", {}, nonce,
                                        world.agents[sender].clock(world.now)), origin)
    while not event.triggered:
        world.env.step()
    return event.value


def java_hash(text: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as a signed 32-bit int, made absolute."""
    data, h = text.encode("utf-16-le"), 0
    for i in range(0, len(data), 2):
        h = (h * 31 + int.from_bytes(data[i:i + 2], "little")) & 0xFFFFFFFF
    return abs(h - (1 << 32) if h >= 1 << 31 else h)


def beam_delay(n: int, nonce: str) -> int:
    """§4.4, written out independently of simulator/retry.py."""
    base = [30, 60, 120, 240, 480][min(n, 5) - 1]
    jitter = java_hash(f"{nonce}:{n}") % 31 - 15
    return max(5, int(base * (1 + jitter / 100) + 0.5))


def test_java_hash_matches_the_spec_vector():
    assert [beam_delay(n, "retry-nonce-1") for n in range(1, 6)] == [28, 57, 115, 233, 470]


# -- §14.22 / §3.9/1: finance offline for 3 minutes during the demo ---------------------------


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_demo_finance_offline_3m_retries_deliver_documented_but_dead_letter_as_coded(fidelity):
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    data["fidelity"] = fidelity
    data["faults"] = [{"kind": "agent_disconnect", "agent": FINANCE, "at": "4s", "duration": "3m"}]
    world = World(parse_scenario(data), seed=1)
    events: list = []
    world.subscribe(events.append)
    world.env.run(until=1200)
    run = next(iter(world.traffic.quote_runs.values()))
    nonce = run.preflight_nonce
    # quote at 5 s + partner-desk 40 ms + warehouse 25 ms: the preflight is sent at 5.065 s
    assert (run.quote_status, run.total_price_eur, run.preflight_bus_status) == ("acked", 44160, "queued")
    assert run.preflight_http_status == 201
    # The expected tick times below hold for this nonce's delays (d1..d4 = 30, 59, 118, 233):
    # 5.065+30 → tick 60; 60+59=119 → tick 120; 120+118=238 → tick 240; 240+233=473 → tick 480.
    assert [beam_delay(n, nonce) for n in range(1, 5)] == [30, 59, 118, 233]
    tries = [(e.time, e.data["http_status"], e.data["code"]) for e in events
             if e.kind == "attempt" and e.nonce == nonce]
    msg, row = world.bus.by_nonce[nonce], world.directory.rows[nonce]
    if fidelity == "documented":
        # finance is back at 184 s: the 4th attempt (240 s) is delivered
        assert tries == [(pytest.approx(5.065), 503, "OFFLINE"), (60, 503, "OFFLINE"), (120, 503, "OFFLINE"),
                         (pytest.approx(240.03), 200, None)]
        assert (msg.status, msg.retry_count, row.status) == ("delivered", 3, "acked")
    else:
        # 60: reset of a failed nonce throws → 500, row stuck `received` (requested_at 60);
        # 120: 60 s old ≤ 120 → 409 IN_PROGRESS; 240 and 480: older → reset → 500 again.
        assert tries == [(pytest.approx(5.065), 503, "OFFLINE"), (60, 500, "RELAY_ERROR"),
                         (120, 409, "IN_PROGRESS"), (240, 500, "RELAY_ERROR"), (480, 500, "RELAY_ERROR")]
        assert (msg.status, msg.retry_count, msg.failed_at) == ("dead_letter", 4, 480)
        assert row.status == "received"  # in flight until a directory restart
        assert world.agents[FINANCE].received == 0


# -- §3.9/2: a sender clock ahead of the directory ------------------------------------------


@pytest.mark.parametrize("origin", ["http", "ws"])
@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_sender_clock_1s_ahead_acks_documented_but_500_stuck_validated_as_coded(fidelity, origin):
    world = make_world(fidelity, faults=[{"kind": "clock_skew", "agent": SENDER, "skew": 1, "at": 5}])
    out = relay_at(world, 10, "n-ahead", origin=origin)
    row = world.directory.rows["n-ahead"]
    if fidelity == "documented":
        assert (out.http_status, out.success, row.status) == (200, True, "acked")
    else:
        assert (out.http_status, out.error_code, row.status) == (500, "RELAY_ERROR", "validated")
        assert world.agents[TARGET].received == 0


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_sender_clock_60s_behind_works_in_both_modes(fidelity):
    world = make_world(fidelity, faults=[{"kind": "clock_skew", "agent": SENDER, "skew": -60, "at": 5}])
    out = relay_at(world, 10, "n-behind")
    assert (out.http_status, out.success, world.directory.rows["n-behind"].status) == (200, True, "acked")


# -- §3.9/3: a late result after TIMEOUT -----------------------------------------------------


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_late_result_after_timeout_stops_the_directory_only_as_coded(fidelity):
    agents = [{"id": SENDER}, {"id": TARGET, "latency": "40s"}, {"id": OTHER}]
    world = make_world(fidelity, agents=agents,
                       faults=[{"kind": "directory_restart", "at": 100}])
    out = relay_at(world, 0, "n-slow", origin="ws")
    assert (world.now, out.relay_code) == (30, "TIMEOUT")  # WebSocket wait 30 s (§3.5)
    run_to(world, 45)  # the answer arrives at 40
    directory = world.directory
    assert directory.late_results == 1
    later = relay_at(world, 50, "n-later", recipient=OTHER)
    if fidelity == "documented":
        assert (directory.up, directory.stops) == (True, [])
        assert directory.rows["n-slow"].status == "failed"
        assert (later.http_status, later.success) == (200, True)
    else:
        assert directory.up is False
        assert directory.stops == [(40, "late result after a failure crashed the directory")]
        assert (later.http_status, later.success) == (0, False)
        assert relay_at(world, 99, "n-still-down", recipient=OTHER).http_status == 0
        revived = relay_at(world, 101, "n-revived", recipient=OTHER)
        assert (directory.up, revived.http_status, revived.success) == (True, 200, True)
        assert len(directory.stops) == 1


def test_as_coded_with_late_result_crash_off_keeps_the_directory_up():
    agents = [{"id": SENDER}, {"id": TARGET, "latency": "40s"}]
    world = make_world("as-coded", agents=agents, quirks={"late_result_crash": False})
    relay_at(world, 0, "n-slow", origin="ws")
    run_to(world, 45)
    assert (world.directory.late_results, world.directory.up, world.directory.stops) == (1, True, [])


# -- §5: the shared cleanup wipes the trust gate's hour buckets ------------------------------


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_pair_bucket_lasts_an_hour_documented_but_is_wiped_at_300s_as_coded(fidelity):
    agents = [{"id": SENDER}, {"id": TARGET, "shield": {"rate_limit": 20}}]
    world = make_world(fidelity, agents=agents)
    assert [relay_at(world, 0, f"n-{i}").http_status for i in range(20)] == [200] * 20
    refused = relay_at(world, 1, "n-20")
    assert (refused.http_status, refused.error_code) == (429, "SHIELD_RATE_LIMITED")
    assert relay_at(world, 61, "n-61").error_code == "SHIELD_RATE_LIMITED"  # [V]: still blocks after 61 s
    late = relay_at(world, 301, "n-301")  # the cleanup ran at 300 s
    if fidelity == "documented":
        assert (late.http_status, late.error_code) == (429, "SHIELD_RATE_LIMITED")
    else:
        assert (late.http_status, late.success) == (200, True)


# -- §5: BEAM_RATE_LIMIT_PER_MIN sets both per-sender limits ---------------------------------


@pytest.mark.parametrize("fidelity, refused", [("documented", 10), ("as-coded", 0)])
def test_rate_limit_per_min_100_lifts_the_public_20_per_min_only_as_coded(fidelity, refused):
    agents = [{"id": SENDER, "ip": "198.51.100.7"}, {"id": TARGET, "shield": {"allowlist": [SENDER]}}]
    world = World(parse_scenario({"name": "env", "agents": agents, "acl": open_acl(agents), "fidelity": fidelity,
                                  "directory": {"rate_limit_per_min": 100}}), seed=1)
    outcomes = []
    for i in range(30):  # 30 sends in one minute, one every 2 s, from the sender's own IP
        run_to(world, 2 * i)
        event = world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, f"n-{i}", world.now), "http",
                                      "198.51.100.7")
        world.env.run(until=world.now + 1)
        outcomes.append((event.value.http_status, event.value.error_code))
    assert outcomes[:20] == [(200, None)] * 20
    assert outcomes[20:] == [(429, "RATE_LIMITED")] * refused + [(200, None)] * (10 - refused)
    buckets = [r.details["bucket"] for r in world.directory.security.audit.rows
               if r.action == "public.rate_limit.throttled"]
    assert buckets == ["intent-send-sender"] * refused


# -- resolving quirks ------------------------------------------------------------------------


@pytest.mark.parametrize("fidelity, quirks, expected", [
    ("documented", {}, dict.fromkeys(QUIRKS, False)),
    ("as-coded", {}, dict.fromkeys(QUIRKS, True)),
    ("as-coded", {"late_result_crash": False}, {**dict.fromkeys(QUIRKS, True), "late_result_crash": False}),
    ("documented", {"trust_gate_window_wipe": True},
     {**dict.fromkeys(QUIRKS, False), "trust_gate_window_wipe": True}),
])
def test_fidelity_sets_every_quirk_and_single_quirks_override_it(fidelity, quirks, expected):
    scenario = parse_scenario({"name": "q", "agents": [{"id": SENDER}], "fidelity": fidelity, "quirks": quirks})
    assert scenario.resolved_quirks() == expected
    assert World(scenario, seed=1).quirks == expected


def test_fidelity_defaults_to_documented():
    scenario = parse_scenario({"name": "q", "agents": [{"id": SENDER}]})
    assert scenario.fidelity == "documented"
    assert not any(scenario.resolved_quirks().values())
