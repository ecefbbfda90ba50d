"""Client retries (simulator/beam/client.py): senders over HTTP and WebSocket that retry a
refused, failed or timed-out send with a preset, a client timeout, and the per-pair retry
budget and circuit breaker; a client that gives up cancels nothing the recipient queued.

Unless a test says otherwise the recipient answers in exactly 3 s, one intent at a time,
and the directory waits 5 s for its answer over HTTP.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from conftest import without_limits
from simulator import World, parse_scenario
from simulator.beam.client import ClientRetrier
from simulator.beam.relay import Frame
from simulator.kernel.events import Event
from simulator.kernel.rng import Streams
from simulator.policies import breaker_maker, budget_maker, client_policy
from simulator.scenario.loader import ScenarioError
from simulator.scenario.policies import ClientRetrySpec
from simulator.telemetry.metrics import WorldCollector, latency_histogram
from simulator.telemetry.spans import SpanRecorder

SENDER = "shop@test.beam.directory"
TARGET = "ledger@test.beam.directory"
CLIENT_KINDS = ("client_attempt", "client_retry_scheduled", "client_gave_up", "client_retry_budget_refused",
                "client_breaker_rejected", "client_breaker_transition")


def world(target: dict[str, Any] | None = None, http_timeout: float = 5.0, **extra: Any) -> tuple[World, list[Event]]:
    agents = [{"id": SENDER}, {"id": TARGET, "latency": "3s", "concurrency": 1, **(target or {})}]
    data = {"name": "client-retry-test", "duration": 600, **without_limits(agents),
            "retention": {"finished_rows": None}, **extra}
    data["directory"] = {**data["directory"], "http_result_timeout": http_timeout}
    built = World(parse_scenario(data), seed=7)
    built.check_history()
    events: list[Event] = []
    built.subscribe(events.append)
    return built, events


def client(built: World, policy: Any, timeout: float = 30.0, **guards: Any) -> ClientRetrier:
    spec = ClientRetrySpec.model_validate({"policy": policy, "timeout": timeout, **guards})
    chosen = client_policy(spec, random.Random(1))
    return ClientRetrier(built.env, built.events, built.directory.submit, chosen.policy, chosen.max_retries,
                         spec.timeout, budget_maker(spec.retry_budget), breaker_maker(spec.circuit_breaker))


def send(retrier: ClientRetrier, nonce: str, at: float = 0.0, recipient: str = TARGET) -> None:
    retrier.send(Frame(SENDER, recipient, "agent.ping", {}, nonce, at), "http")


def client_events(events: list[Event]) -> list[tuple[Any, ...]]:
    return [(e.time, e.kind, e.nonce, *e.data.values()) for e in events if e.kind in CLIENT_KINDS]


FIXED = {"preset": "fixed", "base": 2, "max_retries": 3}


def test_a_client_timeout_then_a_retry_gets_the_cached_answer():
    built, events = world()
    retrier = client(built, FIXED, timeout=1.0)
    send(retrier, "n1")
    built.run(60)
    assert client_events(events) == [
        (1.0, "client_attempt", "n1", 1, False, None, "CLIENT_TIMEOUT"),
        (1.0, "client_retry_scheduled", "n1", 1, 2.0, "CLIENT_TIMEOUT", "fixed"),
        (3.0, "client_attempt", "n1", 2, True, 200, None),
    ]
    assert built.directory.claims["cached"] == 1
    assert built.agents[TARGET].received == 1
    assert (retrier.sends, retrier.attempts, retrier.retries, retrier.timeouts, retrier.succeeded) == (1, 2, 1, 1, 1)


def test_while_the_directory_still_waits_a_retry_is_in_progress():
    # The client gives up at 1 s; the directory still waits (row delivered), so the retry
    # at 1.5 s gets 409 IN_PROGRESS, retried again at 3.0 s: the answer came at 3.0 s.
    built, events = world()
    retrier = client(built, {"preset": "fixed", "base": 0.5, "max_retries": 5}, timeout=1.0)
    send(retrier, "n1")
    built.run(60)
    assert [(t, kind, *rest) for t, kind, _, *rest in client_events(events) if kind == "client_attempt"] == [
        (1.0, "client_attempt", 1, False, None, "CLIENT_TIMEOUT"),
        (1.5, "client_attempt", 2, False, 409, "IN_PROGRESS"),
        (2.0, "client_attempt", 3, False, 409, "IN_PROGRESS"),
        (2.5, "client_attempt", 4, False, 409, "IN_PROGRESS"),
        (3.0, "client_attempt", 5, True, 200, None),
    ]
    assert built.agents[TARGET].received == 1


def test_giving_up_cancels_nothing_the_recipient_queued():
    # Two sends at t=0 to a one-slot recipient: n1 is answered at 3 s; n2 waits for the
    # slot, the directory times it out at 5 s and its client (no retries) gives up, yet the
    # recipient still runs it from 3 s to 6 s: the sender saw a failure, the work was done.
    built, events = world()
    retrier = client(built, "none", timeout=30.0)
    send(retrier, "n1")
    send(retrier, "n2")
    built.run(60)
    assert client_events(events) == [
        (3.0, "client_attempt", "n1", 1, True, 200, None),
        (5.0, "client_attempt", "n2", 1, False, 504, "TIMEOUT"),
        (5.0, "client_gave_up", "n2", "retries_exhausted", 1, "TIMEOUT"),
    ]
    assert [(e.time, e.nonce, e.data["late"]) for e in events if e.kind == "agent_result"] == [
        (3.0, "n1", False), (6.0, "n2", True)]
    history = built.delivery_history()
    assert history is not None
    assert (history.ok, history.recovered, history.lost, history.duplicated) == (1, 1, 0, 0)


def test_a_retry_after_the_directory_timed_out_runs_the_work_twice():
    # http wait 2 s, work 3 s: TIMEOUT at 2, retry at 3 resets the row and the recipient
    # takes a second copy (the first ends at 3, late); that one ends at 6, after the
    # directory's second wait ended at 5, and the client has no retry left.
    built, events = world(http_timeout=2.0)
    retrier = client(built, {"preset": "fixed", "base": 1, "max_retries": 1}, timeout=30.0)
    send(retrier, "n1")
    built.run(60)
    assert client_events(events) == [
        (2.0, "client_attempt", "n1", 1, False, 504, "TIMEOUT"),
        (2.0, "client_retry_scheduled", "n1", 1, 1.0, "TIMEOUT", "fixed"),
        (5.0, "client_attempt", "n1", 2, False, 504, "TIMEOUT"),
        (5.0, "client_gave_up", "n1", "retries_exhausted", 2, "TIMEOUT"),
    ]
    assert built.agents[TARGET].received == 2
    assert built.directory.claims["reset"] == 1
    history = built.delivery_history()
    assert history is not None
    assert (history.duplicated, history.duplicate_runs, history.recovered, history.lost) == (1, 1, 1, 0)


def test_a_refusal_that_is_not_retryable_ends_the_send_at_once():
    built, events = world()
    retrier = client(built, FIXED)
    retrier.send(Frame(SENDER, TARGET, "not.allowed", {}, "n1", 0.0), "http")
    built.run(10)
    assert client_events(events) == [
        (0.0, "client_attempt", "n1", 1, False, 403, "FORBIDDEN"),
        (0.0, "client_gave_up", "n1", "not_retryable", 1, "FORBIDDEN"),
    ]


def test_an_empty_retry_budget_ends_the_send_with_its_event():
    built, events = world(target={"connected": False})
    retrier = client(built, FIXED, retry_budget={"percent_can_retry": 0, "min_retries_per_sec": 0})
    send(retrier, "n1")
    built.run(10)
    assert client_events(events) == [
        (0.0, "client_attempt", "n1", 1, False, 503, "OFFLINE"),
        (0.0, "client_retry_budget_refused", "n1", SENDER, TARGET, 1, "OFFLINE", 0),
        (0.0, "client_gave_up", "n1", "retry_budget", 1, "OFFLINE"),
    ]
    assert retrier.budget_refusals == 1 and retrier.gave_up == {"retry_budget": 1}


def test_a_budget_allows_its_share_of_retries():
    # 50 % of requests, no floor: two sends deposit two tokens' worth, one retry costs two.
    built, events = world(target={"connected": False})
    retrier = client(built, {"preset": "fixed", "base": 1, "max_retries": 1},
                     retry_budget={"percent_can_retry": 0.5, "min_retries_per_sec": 0})
    send(retrier, "n1")
    send(retrier, "n2")
    built.run(10)
    # n1's retry finds one deposit (1000 tokens) where a retry costs 2000; n2's finds two.
    assert client_events(events) == [
        (0.0, "client_attempt", "n1", 1, False, 503, "OFFLINE"),
        (0.0, "client_retry_budget_refused", "n1", SENDER, TARGET, 1, "OFFLINE", 0),
        (0.0, "client_gave_up", "n1", "retry_budget", 1, "OFFLINE"),
        (0.0, "client_attempt", "n2", 1, False, 503, "OFFLINE"),
        (0.0, "client_retry_scheduled", "n2", 1, 1.0, "OFFLINE", "fixed"),
        (1.0, "client_attempt", "n2", 2, False, 503, "OFFLINE"),
        (1.0, "client_gave_up", "n2", "retries_exhausted", 2, "OFFLINE"),
    ]


def test_an_open_breaker_fails_attempts_fast_without_calling_the_directory():
    built, events = world(target={"connected": False})
    retrier = client(built, "none", circuit_breaker={"sliding_window_size": 2, "minimum_number_of_calls": 2,
                                                     "wait_duration_in_open_state": 60})
    for index in range(3):
        send(retrier, f"n{index}")
    built.run(10)
    relays = [e.nonce for e in events if e.kind == "relay"]
    assert relays == ["n0", "n1"]
    assert client_events(events)[-6:] == [
        (0.0, "client_attempt", "n1", 1, False, 503, "OFFLINE"),
        (0.0, "client_breaker_transition", "n1", SENDER, TARGET, "CLOSED", "OPEN", "failure_rate"),
        (0.0, "client_gave_up", "n1", "retries_exhausted", 1, "OFFLINE"),
        (0.0, "client_breaker_rejected", "n2", SENDER, TARGET, "OPEN"),
        (0.0, "client_attempt", "n2", 1, False, None, "CIRCUIT_OPEN"),
        (0.0, "client_gave_up", "n2", "retries_exhausted", 1, "CIRCUIT_OPEN"),
    ]
    assert (retrier.breaker_rejections, retrier.breaker_transitions) == (1, {"OPEN": 1})


def test_jitter_draws_from_the_routes_own_stream():
    route = {"name": "pings", "from": SENDER, "to": TARGET, "intent": "agent.ping", "via": "http", "rate": "1/s",
             "client_retry": {"policy": {"preset": "full_jitter", "base": 1, "cap": 10, "max_retries": 2},
                              "timeout": 1}}
    built, events = world(target={"connected": False}, traffic={"routes": [route]})
    built.run(1.5)
    stream = Streams(7)("retry:client:pings")
    delays = [e.data["delay"] for e in events if e.kind == "client_retry_scheduled"]
    first = [e for e in events if e.kind == "client_retry_scheduled"][0]
    assert first.data["retry_count"] == 1 and first.data["policy"] == "full_jitter"
    assert delays[0] == 0.0 + (2.0 - 0.0) * stream.random()
    assert list(built.traffic.clients) == ["pings"]


def test_an_agents_client_retry_serves_its_http_and_ws_routes():
    routes = [{"name": "a", "from": SENDER, "to": TARGET, "intent": "agent.ping", "via": "http", "rate": "1/h"},
              {"name": "b", "from": SENDER, "to": TARGET, "intent": "agent.ping", "via": "ws", "rate": "1/h"}]
    agents = [{"id": SENDER, "client_retry": {"policy": "full_jitter"}}, {"id": TARGET}]
    data = {"name": "t", **without_limits(agents), "traffic": {"routes": routes}}
    built = World(parse_scenario(data), seed=1)
    assert list(built.traffic.clients) == [SENDER]
    assert built.traffic.client(built.scenario.traffic.routes[0]) is built.traffic.client(
        built.scenario.traffic.routes[1])


def test_no_client_retry_leaves_the_resolved_scenario_as_before():
    data = {"name": "t", **without_limits([{"id": SENDER}, {"id": TARGET}]),
            "traffic": {"routes": [{"from": SENDER, "to": TARGET, "intent": "agent.ping", "rate": "1/s"}]}}
    dumped = parse_scenario(data).model_dump(mode="json", by_alias=True)
    assert "client_retry" not in dumped["agents"][0]
    assert "client_retry" not in dumped["traffic"]["routes"][0]


def test_a_client_retry_round_trips_without_its_off_guards():
    spec = ClientRetrySpec.model_validate({"policy": {"preset": "equal_jitter", "base": 1}, "timeout": "10s"})
    assert spec.model_dump(mode="json") == {
        "policy": {"preset": "equal_jitter", "base": 1.0, "cap": 480.0, "max_retries": 4, "multiplier": 2.0},
        "timeout": 10.0}


@pytest.mark.parametrize("route, field, fragment", [
    ({"via": "bus", "client_retry": {"policy": "fixed"}}, "traffic.routes[0].client_retry",
     "expected no client_retry on a bus route"),
    ({"via": "http", "client_retry": {"policy": "beam"}}, "traffic.routes[0].client_retry.policy",
     "expected a client retry preset"),
    ({"via": "http", "client_retry": {"policy": "fixed", "timeout": 0}}, "traffic.routes[0].client_retry.timeout",
     ""),
])
def test_bad_client_retries_are_one_line_naming_the_field(route, field, fragment):
    data = {"name": "t", **without_limits([{"id": SENDER}, {"id": TARGET}]),
            "traffic": {"routes": [{"from": SENDER, "to": TARGET, "intent": "agent.ping", "rate": "1/s", **route}]}}
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(data, "s.yaml")
    problems = raised.value.problems
    assert len(problems) == 1
    assert problems[0].field == field
    assert fragment in problems[0].message


def test_metrics_and_spans_carry_client_decisions():
    route = {"name": "pings", "from": SENDER, "to": TARGET, "intent": "agent.ping", "via": "http", "rate": "1/h",
             "client_retry": {"policy": {"preset": "fixed", "base": 1, "max_retries": 1}, "timeout": 1}}
    agents = [{"id": SENDER}, {"id": TARGET, "connected": False}]
    data = {"name": "t", "duration": 60, **without_limits(agents), "traffic": {"routes": [route]},
            "retention": {"finished_rows": None}}
    built = World(parse_scenario(data), seed=3)
    recorder = SpanRecorder(built.seed)
    built.subscribe(recorder)
    collector = WorldCollector(built, latency_histogram(built.directory))
    retrier = built.traffic.clients["pings"]
    retrier.send(Frame(SENDER, TARGET, "agent.ping", {}, "n1", 0.0), "http")
    built.run(10)
    layout, values = collector.snapshot()
    series = {(key.name, key.labels): value for key, value in zip(layout.series, values)
              if key.name.startswith("beamdrill_client_")}
    assert series == {
        ("beamdrill_client_attempts_total", ()): 2,
        ("beamdrill_client_retries_total", ()): 1,
        ("beamdrill_client_timeouts_total", ()): 0,
        ("beamdrill_client_gave_up_total", (("reason", "not_retryable"),)): 0,
        ("beamdrill_client_gave_up_total", (("reason", "retries_exhausted"),)): 1,
        ("beamdrill_client_gave_up_total", (("reason", "retry_budget"),)): 0,
        ("beamdrill_client_retry_budget_refusals_total", ()): 0,
        ("beamdrill_client_breaker_rejections_total", ()): 0,
    }
    [root, *_] = next(iter(recorder.traces().views()))
    assert dict(root.own)["beam.client.attempts"] == 2
    assert {key: value for key, value in root.own if key.startswith("beam.client.")} == {
        "beam.client.attempts": 2, "beam.client.retry_count": 1, "beam.client.gave_up": "retries_exhausted"}


def test_worlds_without_client_retries_expose_no_client_series():
    built, _ = world()
    layout, _values = WorldCollector(built, latency_histogram(built.directory)).snapshot()
    assert not [key for key in layout.series if key.name.startswith("beamdrill_client_")]
