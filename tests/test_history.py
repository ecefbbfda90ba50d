"""The delivery history, Jepsen style (:mod:`simulator.history`): crafted histories for
every outcome and anomaly, properties over generated histories, and a small world where
a bus attempt times out while the recipient works, so the bus's retries make it work
again, with the counts worked out by hand."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import without_limits
from simulator import HistoryError, parse_scenario
from simulator.history import EXAMPLES, OUTCOMES, DeliveryHistory
from simulator.kernel.events import Event
from simulator.world import World

A, B = "a@x.beam", "b@x.beam"


def sent(nonce: str, t: float = 0.0, path: str = "directory", sender: str = A, recipient: str = B) -> list[Event]:
    """A send that Beam admits: ``relay`` (or ``bus_accepted``) and the row's first transition."""
    kind = "bus_accepted" if path == "bus" else "relay"
    return [Event(t, kind, nonce, {"sender": sender, "recipient": recipient}), moved(nonce, t, path, None, "received")]


def moved(nonce: str, t: float, path: str, previous: str | None, to: str) -> Event:
    """A row's transition."""
    return Event(t, "transition", nonce, {"path": path, "from": previous, "to": to})


def walk(nonce: str, t: float, path: str, *states: str) -> list[Event]:
    """Transitions through ``states`` from ``received``, all at ``t``."""
    chain = ("received", *states)
    return [moved(nonce, t, path, previous, to) for previous, to in zip(chain, chain[1:])]


def took(nonce: str, t: float, agent: str = B) -> Event:
    """The recipient took delivery."""
    return Event(t, "agent_received", nonce, {"agent": agent})


def ran(nonce: str, t: float, success: bool = True, agent: str = B) -> Event:
    """The recipient's handler ran."""
    return Event(t, "agent_handled", nonce, {"agent": agent, "success": success})


def forgotten(nonce: str, t: float, path: str, status: str) -> Event:
    """Retention compacted the row."""
    return Event(t, "forgotten", nonce, {"path": path, "status": status})


def check(events: list[Event]) -> DeliveryHistory:
    history = DeliveryHistory()
    for event in events:
        history(event)
    return history


def counts(history: DeliveryHistory) -> dict[str, int]:
    """The report's nonzero counts."""
    report = history.report().model_dump()
    return {name: value for name, value in report.items() if isinstance(value, int) and not isinstance(value, bool)
            and value}


# -- crafted histories, one per class ---------------------------------------------------


def test_an_intent_acked_after_its_handler_ran_is_ok() -> None:
    history = check([*sent("n"), *walk("n", 0, "directory", "validated", "dispatched", "delivered"), took("n", 0),
                     ran("n", 1), moved("n", 1, "directory", "delivered", "acked")])
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "ok": 1}
    assert history.report().valid


def test_a_bus_message_delivered_that_no_handler_ran_is_lost() -> None:
    history = check([*sent("n", 2, "bus"), *walk("n", 3, "bus", "dispatched", "delivered")])
    report = history.report()
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "lost": 1}
    assert not report.valid
    assert report.problems == ["history: 1 acknowledged intents never processed (lost), e.g. n"]
    [example] = report.examples["lost"]
    assert (example.nonce, example.sender, example.recipient, example.path, example.sent_at, example.status,
            example.status_at, example.runs, example.run_times) == ("n", A, B, "bus", 2, "delivered", 3, 0, [])


def test_a_handler_run_again_after_a_timeout_and_a_resend_is_duplicated() -> None:
    history = check([*sent("n"), *walk("n", 0, "directory", "validated", "dispatched", "delivered"), took("n", 0),
                     moved("n", 60, "directory", "delivered", "failed"), ran("n", 70),
                     Event(90, "relay", "n", {"sender": A, "recipient": B}),
                     moved("n", 90, "directory", "failed", "queued"), moved("n", 90, "directory", "queued", "dispatched"),
                     moved("n", 90, "directory", "dispatched", "delivered"), took("n", 90), ran("n", 95),
                     moved("n", 95, "directory", "delivered", "acked")])
    report = history.report()
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "ok": 1, "duplicated": 1, "duplicate_runs": 1}
    assert report.valid
    assert [(e.nonce, e.runs, e.run_times) for e in report.examples["duplicated"]] == [("n", 2, [70.0, 95.0])]


def test_a_handler_run_for_a_nonce_nobody_sent_is_unexpected() -> None:
    history = check([took("ghost", 5), ran("ghost", 6)])
    report = history.report()
    assert counts(history) == {"unexpected": 1}
    assert not report.valid
    assert report.problems == ["history: 1 intents processed but never sent (unexpected), e.g. ghost"]
    assert [(e.nonce, e.recipient, e.sent_at, e.run_times) for e in report.examples["unexpected"]] == [
        ("ghost", B, None, [6.0])]


def test_a_timeout_the_sender_saw_while_the_recipient_did_the_work_is_recovered() -> None:
    history = check([*sent("n"), *walk("n", 0, "directory", "validated", "dispatched", "delivered"), took("n", 0),
                     moved("n", 60, "directory", "delivered", "failed"), ran("n", 65)])
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "recovered": 1}
    assert history.report().valid
    assert [(e.status, e.run_times) for e in history.report().examples["recovered"]] == [("failed", [65.0])]


def test_a_dead_letter_nobody_processed_is_dead_lettered_not_lost() -> None:
    history = check([*sent("n", 0, "bus"), *walk("n", 0, "bus", "dispatched", "queued", "dispatched", "dead_letter")])
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "dead_lettered": 1}
    assert history.report().valid


def test_failures_nobody_processed_are_failed_not_lost() -> None:
    offline = [*sent("off"), *walk("off", 0, "directory", "validated", "dispatched", "failed")]
    refused_by_handler = [*sent("err"), *walk("err", 0, "directory", "validated", "dispatched", "delivered"),
                          took("err", 0), ran("err", 1, success=False), moved("err", 1, "directory", "delivered",
                                                                                 "failed")]
    history = check(offline + refused_by_handler)
    assert counts(history) == {"attempted": 2, "acknowledged": 2, "failed": 2}


def test_intents_under_way_at_the_end_are_in_flight_not_lost() -> None:
    queued = [*sent("q", 0, "bus"), *walk("q", 0, "bus", "dispatched", "queued")]
    waiting = [*sent("w"), *walk("w", 0, "directory", "validated", "dispatched", "delivered"), took("w", 0)]
    failed_but_still_held = [*sent("h"), *walk("h", 0, "directory", "validated", "dispatched", "delivered"),
                             took("h", 0), moved("h", 60, "directory", "delivered", "failed")]
    history = check(queued + waiting + failed_but_still_held)
    assert counts(history) == {"attempted": 3, "acknowledged": 3, "in_flight": 3}
    assert history.report().valid


def test_sends_refused_before_a_row_are_refused() -> None:
    history = check([Event(0, "relay", "r", {"sender": A, "recipient": B}),
                     Event(0, "relay_rejected", "r", {"code": "RATE_LIMITED"}),
                     Event(1, "send_rejected", None, {"http_status": 429, "code": "RATE_LIMIT_EXCEEDED"})])
    assert counts(history) == {"attempted": 2, "refused": 2}
    assert history.records == {}


def test_a_bus_message_is_one_intent_although_each_attempt_reaches_the_directory() -> None:
    history = check([*sent("n", 0, "bus"), moved("n", 0, "bus", "received", "dispatched"),
                     Event(0, "relay", "n", {"sender": A, "recipient": B}), moved("n", 0, "directory", None, "received"),
                     *walk("n", 0, "directory", "validated", "dispatched", "delivered"), took("n", 0), ran("n", 2),
                     moved("n", 2, "directory", "delivered", "acked"), moved("n", 2, "bus", "dispatched", "delivered")])
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "ok": 1}
    assert history.records["n"].rows == 2


def test_a_record_is_dropped_once_beam_forgot_every_row_and_no_recipient_holds_it() -> None:
    history = check([*sent("n", 0, "bus"), moved("n", 0, "bus", "received", "dispatched"),
                     Event(0, "relay", "n", {"sender": A, "recipient": B}), moved("n", 0, "directory", None, "received"),
                     *walk("n", 0, "directory", "validated", "dispatched", "delivered"), took("n", 0), ran("n", 2),
                     moved("n", 2, "directory", "delivered", "acked"), moved("n", 2, "bus", "dispatched", "delivered"),
                     forgotten("n", 3600, "directory", "acked")])
    assert "n" in history.records
    history(forgotten("n", 3700, "bus", "delivered"))
    assert history.records == {}
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "ok": 1}


def test_a_record_forgotten_while_its_recipient_works_stays_until_the_handler_ran() -> None:
    history = check([*sent("n"), *walk("n", 0, "directory", "validated", "dispatched", "delivered"), took("n", 0),
                     moved("n", 60, "directory", "delivered", "failed"), forgotten("n", 3660, "directory", "failed")])
    assert "n" in history.records
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "in_flight": 1}
    history(ran("n", 4000))
    assert history.records == {}
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "recovered": 1}


def test_examples_are_bounded_and_counts_are_not() -> None:
    events = []
    for index in range(EXAMPLES + 3):
        nonce = f"lost-{index}"
        events += [*sent(nonce, index, "bus"), *walk(nonce, index, "bus", "dispatched", "delivered"),
                   forgotten(nonce, 4000 + index, "bus", "delivered")]
    history = check(events)
    report = history.report()
    assert report.lost == EXAMPLES + 3
    assert [example.nonce for example in report.examples["lost"]] == [f"lost-{index}" for index in range(EXAMPLES)]
    assert history.records == {}


# -- properties over generated histories ----------------------------------------------

FINAL = {"directory": ("acked", "failed", "delivered"), "bus": ("delivered", "dead_letter", "queued")}
ORACLE_SUCCESS = {"acked", "delivered"}


@st.composite
def scripts(draw: st.DrawFn) -> dict[str, Any]:
    """One intent's fate: its path, whether Beam refused it, its row's last status, handler
    runs (successes and failures), a delivery still held, and whether retention forgot it."""
    path = draw(st.sampled_from(("directory", "bus")))
    return {"path": path, "refused": draw(st.booleans()), "final": draw(st.sampled_from(FINAL[path])),
            "runs": draw(st.integers(0, 3)), "failures": draw(st.integers(0, 2)), "held": draw(st.booleans()),
            "forget": draw(st.booleans())}


def events_of(nonce: str, script: dict[str, Any]) -> list[Event]:
    """The events of one intent's fate, in their order."""
    path = script["path"]
    if script["refused"]:
        if path == "bus":
            return [Event(0, "send_rejected", nonce, {"http_status": 429, "code": "RATE_LIMIT_EXCEEDED"})]
        return [Event(0, "relay", nonce, {"sender": A, "recipient": B}),
                Event(0, "relay_rejected", nonce, {"code": "FORBIDDEN"})]
    events = [*sent(nonce, 0, path), moved(nonce, 0, path, "received", "dispatched")]
    for _ in range(script["failures"]):
        events += [took(nonce, 1), ran(nonce, 2, success=False)]
    for _ in range(script["runs"]):
        events += [took(nonce, 1), ran(nonce, 2)]
    last = "dispatched"
    if script["final"] not in ("queued", "dead_letter"):  # those two go straight from dispatched
        events.append(moved(nonce, 3, path, "dispatched", "delivered"))
        last = "delivered"
    if script["final"] != last:
        events.append(moved(nonce, 4, path, last, script["final"]))
    if script["held"]:
        events.append(took(nonce, 5))
    elif script["forget"] and script["final"] in ("acked", "failed", "delivered", "dead_letter") and not (
            path == "directory" and script["final"] == "delivered"):
        events.append(forgotten(nonce, 9000, path, script["final"]))
    return events


def oracle(script: dict[str, Any]) -> str:
    """The outcome the README's table gives a script."""
    if script["refused"]:
        return "refused"
    unfinished = script["final"] == "delivered" if script["path"] == "directory" else script["final"] == "queued"
    if script["held"] or unfinished:
        return "in_flight"
    if script["final"] in ORACLE_SUCCESS:
        return "ok" if script["runs"] else "lost"
    if script["runs"]:
        return "recovered"
    return "dead_lettered" if script["final"] == "dead_letter" else "failed"


@settings(max_examples=150, deadline=None)
@given(st.lists(scripts(), max_size=25), st.integers(0, 2**32 - 1))
def test_outcomes_partition_the_attempted_intents_in_any_interleaving(fates: list[dict[str, Any]], seed: int) -> None:
    streams = [events_of(f"n{index}", script) for index, script in enumerate(fates)]
    in_order = [event for stream in streams for event in stream]
    interleaved: list[Event] = []
    shuffle = random.Random(seed)
    pending = [list(stream) for stream in streams if stream]
    while pending:  # each intent's events keep their order; intents interleave at random
        stream = shuffle.choice(pending)
        interleaved.append(stream.pop(0))
        if not stream:
            pending.remove(stream)
    report = check(in_order).report()
    assert (report.model_dump(exclude={"examples", "problems"})
            == check(interleaved).report().model_dump(exclude={"examples", "problems"}))
    assert report.attempted == len(fates) == sum(getattr(report, outcome) for outcome in OUTCOMES)
    assert report.acknowledged == sum(not script["refused"] for script in fates)
    for outcome in OUTCOMES:
        assert getattr(report, outcome) == sum(oracle(script) == outcome for script in fates), outcome
    duplicated = [script for script in fates if not script["refused"] and script["runs"] > 1]
    assert report.duplicated == len(duplicated)
    assert report.duplicate_runs == sum(script["runs"] - 1 for script in duplicated)
    assert report.unexpected == 0
    assert report.valid == (report.lost == 0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(("directory", "bus")), max_size=30), st.booleans())
def test_a_history_without_faults_has_no_anomaly(paths: list[str], forget: bool) -> None:
    events = []
    for index, path in enumerate(paths):
        nonce = f"n{index}"
        final = "acked" if path == "directory" else "delivered"
        events += [*sent(nonce, index, path), *walk(nonce, index, path, "dispatched", "delivered"), took(nonce, index),
                   ran(nonce, index + 0.5)]
        if path == "directory":
            events.append(moved(nonce, index + 0.5, path, "delivered", "acked"))
        if forget:
            events.append(forgotten(nonce, index + 3600, path, final))
    history = check(events)
    report = history.report()
    assert report.valid and report.problems == []
    assert (report.attempted, report.acknowledged, report.ok) == (len(paths),) * 3
    assert report.lost == report.duplicated == report.unexpected == report.recovered == report.in_flight == 0
    assert all(kept == [] for kept in report.examples.values())
    assert history.records == {} if forget else len(history.records) == len(paths)


# -- a world: a bus attempt times out while the recipient works --------------------------


def slow_world() -> World:
    """``b`` takes 45 s; the directory waits 40 s for a result, the bus 30 s for an attempt,
    its worker looks every 50 s, and gives up after 3 attempts. ``c`` answers in 1 s."""
    agents = [{"id": A, "connected": False}, {"id": B, "latency": "45s"}, {"id": "c@x.beam", "latency": "1s"}]
    scenario = parse_scenario({"name": "history-e2e", "duration": "5m", **without_limits(agents),
                               "directory": {**without_limits(agents)["directory"], "http_result_timeout": "40s"},
                               "bus": {"worker_interval": "50s", "max_retries": 3}})
    world = World(scenario, seed=1)
    world.check_history()
    return world


def test_a_bus_retry_after_a_timeout_runs_the_handler_again_and_the_dead_letter_was_done() -> None:
    """By hand, for the bus message ``slow``: t=0 the send's attempt reaches b; t=30 the bus
    aborts it (retry 1 due within 26-35 s of t=0); t=40 the directory fails its row TIMEOUT;
    t=45 b's handler has run (1). t=50 the worker's retry resets the failed row and b takes it
    again; t=80 the bus aborts (retry 2 due 51-69 s later); t=90 TIMEOUT; t=95 b ran (2).
    t=150 the third attempt; t=180 aborted, 3 attempts: dead letter; t=190 TIMEOUT; t=195
    b ran (3). The sender's last answer is the dead letter, and b did the work three times:
    recovered, and duplicated with 2 runs beyond the first. ``direct``, over HTTP, times out
    at t=40 and b runs it at t=45: recovered. ``fast`` goes through the bus to c: ok."""
    world = slow_world()
    world.send(A, B, "agent.ping", {}, "slow", "bus")
    world.send(A, B, "agent.ping", {}, "direct", "http")
    world.send(A, "c@x.beam", "agent.ping", {}, "fast", "bus")
    summary = world.run(until=300)
    report = summary.history
    assert report is not None
    assert world.intent("slow", "bus") == ("dead_letter", "Delivery timeout (30s)", 2)
    assert world.intent("direct", "directory") == ("failed", "TIMEOUT", 0)
    assert summary.bus.attempts == 4
    assert report.model_dump(exclude={"examples", "problems"}) == {
        "valid": True, "attempted": 3, "acknowledged": 3, "ok": 1, "lost": 0, "recovered": 2, "failed": 0,
        "dead_lettered": 0, "refused": 0, "in_flight": 0, "duplicated": 1, "duplicate_runs": 2, "unexpected": 0,
        "lost_in_restore": 0}
    assert [(e.nonce, e.path, e.status, e.status_at, e.run_times) for e in report.examples["duplicated"]] == [
        ("slow", "bus", "dead_letter", 180.0, [45.0, 95.0, 195.0])]
    assert [(e.nonce, e.status, e.run_times) for e in report.examples["recovered"]] == [
        ("slow", "dead_letter", [45.0, 95.0, 195.0]), ("direct", "failed", [45.0])]


def test_the_same_world_cut_off_midway_has_the_slow_message_in_flight() -> None:
    world = slow_world()
    world.send(A, B, "agent.ping", {}, "slow", "bus")
    report = world.run(until=100).history
    assert report is not None
    assert (report.in_flight, report.duplicated, report.duplicate_runs, report.lost) == (1, 1, 1, 0)


def test_a_run_that_loses_an_intent_fails_with_a_history_error() -> None:
    world = slow_world()
    world.seed_bus_message(A, B, "agent.ping", nonce="never-delivered", status="delivered")
    try:
        world.run(until=10)
    except HistoryError as error:
        assert str(error) == "history: 1 acknowledged intents never processed (lost), e.g. never-delivered"
    else:
        raise AssertionError("the run should have failed")


# -- the command line -------------------------------------------------------------------


def test_beamdrill_run_keeps_the_history_when_asked_and_with_events(tmp_path: Any) -> None:
    import json

    from conftest import ROOT, beamdrill

    demo = ROOT / "scenarios" / "demo.yaml"
    asked = beamdrill("run", demo, "--history", "--out", tmp_path / "asked")
    assert asked.returncode == 0, asked.stderr
    assert ("history: 3 attempted, 3 acknowledged, 3 ok, 0 lost, 0 duplicated, 0 unexpected, 0 recovered, "
            "0 in flight") in asked.stdout
    history = json.loads((tmp_path / "asked" / "result.json").read_text())["summary"]["history"]
    assert (history["valid"], history["attempted"], history["ok"], history["problems"]) == (True, 3, 3, [])
    events = beamdrill("run", demo, "--events", "--out", tmp_path / "events")
    assert json.loads((tmp_path / "events" / "result.json").read_text())["summary"]["history"]["ok"] == 3
    for argv in (("--events", "--no-history"), ()):
        plain = beamdrill("run", demo, *argv, "--out", tmp_path / "plain")
        assert "history:" not in plain.stdout
        assert json.loads((tmp_path / "plain" / "result.json").read_text())["summary"]["history"] is None


def test_a_nonce_processed_while_nobody_had_sent_it_stays_unexpected_and_a_later_send_is_another_intent() -> None:
    history = check([took("early", 0), ran("early", 1), *sent("early", 2), *walk("early", 2, "directory", "validated",
                                                                                  "dispatched", "delivered", "acked")])
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "lost": 1, "unexpected": 1}


def test_a_send_that_arrives_while_its_recipient_still_holds_the_nonce_claims_it() -> None:
    history = check([took("early", 0), *sent("early", 1), ran("early", 2),
                     *walk("early", 2, "directory", "validated", "dispatched", "delivered", "acked")])
    assert counts(history) == {"attempted": 1, "acknowledged": 1, "ok": 1}
