"""Message bus behaviour against beam-model §2.4, §4 and requirements §14.3–§14.11, §14.20.

Every expected number here is worked out by hand from the spec (comments show the
arithmetic). Delays for nonce ``retry-nonce-1`` are the spec's test vector (§4.4):
d(1..4) = 28, 57, 115, 233 s. The worker ticks every 30 s from t=0 (or from a restart).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import without_limits
from simulator.kernel.events import Event
from simulator import parse_scenario
from simulator.beam.busmarks import LifecycleRefused
from simulator.world import World

SENDER = "sender@test.beam.directory"
TARGET = "target@test.beam.directory"
OTHER = "other@test.beam.directory"
GHOST = "ghost@test.beam.directory"  # not registered in the directory
NONCE = "retry-nonce-1"  # §4.4 test vector: d(1..4) = 28, 57, 115, 233


def make_world(agents: list[dict[str, Any]] | None = None, **bus: Any) -> tuple[World, list[Event]]:
    """A world with SENDER plus ``agents`` (TARGET connected by default), no traffic,
    rows kept forever, events captured."""
    specs = [{"id": SENDER}] + (agents if agents is not None else [{"id": TARGET}])
    world = World(parse_scenario({"name": "bus-test", "bus": bus, **without_limits(specs),
                                  "retention": {"finished_rows": None}}), seed=1)
    events: list[Event] = []
    world.subscribe(events.append)
    return world, events


def send_at(world: World, t: float, *args: Any, **kwargs: Any):
    """Advance to virtual time ``t`` and send."""
    if t > world.env.now:
        world.env.run(until=t)
    return world.bus.send(*args, **kwargs)


def result(world: World, event, until: float | None = None):
    """Run until the send/requeue event has fired and return its BusResponse."""
    world.env.run(until=until if until is not None else world.env.now + 1)
    assert event.triggered
    return event.value


def attempts(events: list[Event], nonce: str) -> list[Event]:
    return [e for e in events if e.kind == "attempt" and e.nonce == nonce]


def dispatch_times(events: list[Event], nonce: str) -> list[float]:
    """When each bus attempt started (the row was marked dispatched)."""
    return [e.time for e in events if e.kind == "transition" and e.nonce == nonce
            and e.data["path"] == "bus" and e.data["to"] == "dispatched"]


def bus_path(events: list[Event], nonce: str) -> list[str]:
    return [e.data["to"] for e in events
            if e.kind == "transition" and e.nonce == nonce and e.data["path"] == "bus"]


def offline_target() -> list[dict[str, Any]]:
    return [{"id": TARGET, "connected": False}]


# -- send: delivered ---------------------------------------------------------------------


def test_send_to_connected_agent_is_201_delivered_via_received_dispatched_delivered():
    world, events = make_world()
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {"x": 1}, nonce="n-ok"))
    assert resp.http_status == 201
    assert resp.body["status"] == "delivered"
    assert resp.body["nonce"] == "n-ok"
    # router.ts: a delivered send answers exactly these keys, no retry_count.
    assert set(resp.body) == {"message_id", "nonce", "status", "created_at"}
    assert "error_code" not in resp.body
    assert bus_path(events, "n-ok") == ["received", "dispatched", "delivered"]


def test_bus_marks_delivered_while_directory_marks_acked():
    # §2.4: the directory acks on any success result; the bus never marks acked itself.
    world, _ = make_world()
    result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-split"))
    world.env.run(until=100)
    assert world.bus.by_nonce["n-split"].status == "delivered"
    assert world.directory.rows["n-split"].status == "acked"


def test_send_without_nonce_generates_one():
    world, _ = make_world()
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}))
    assert resp.http_status == 201
    assert isinstance(resp.body["nonce"], str) and resp.body["nonce"]
    assert world.bus.by_nonce[resp.body["nonce"]].status == "delivered"


# -- send: retries to an offline target ---------------------------------------------------


def test_offline_target_first_answer_is_201_queued_retry_count_1_next_at_created_plus_d1():
    world, _ = make_world(offline_target())
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE))
    assert resp.http_status == 201
    # router.ts: the queued answer carries next_retry_at and the directory's text (server.ts
    # answers an OFFLINE relay with {error: 'agent_offline', errorCode: 'OFFLINE'}).
    assert resp.body == {"message_id": world.bus.by_nonce[NONCE].id, "nonce": NONCE, "status": "queued",
                         "created_at": 0, "retry_count": 1, "next_retry_at": 28, "error": "agent_offline",
                         "error_code": "OFFLINE"}
    row = world.bus.by_nonce[NONCE]
    assert (row.next_retry_at, row.error) == (28, "agent_offline")  # created_at 0 + d(1)=28


def test_a_later_delivery_clears_the_stored_error_and_next_retry_at():
    # markDispatched clears next_retry_at; markDelivered clears error (db.ts).
    world, events = make_world(offline_target())
    send_at(world, 0, SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=10)
    world.agents[TARGET].connect()
    world.env.run(until=40)  # tick 30 retries: delivered
    row = world.bus.by_nonce[NONCE]
    assert (row.status, row.error, row.next_retry_at, row.retry_count) == ("delivered", None, None, 1)


def test_permanently_offline_target_gets_exactly_5_attempts_then_dead_letter_at_450():
    # Send at 0 fails → next_retry_at 0+28=28 → tick 30.
    # Fail at 30 → retry 2, next 30+57=87 → tick 90.
    # Fail at 90 → retry 3, next 90+115=205 → tick 210.
    # Fail at 210 → retry 4, next 210+233=443 → tick 450.
    # Fail at 450 → newCount 5 ≥ max_retries 5 → dead_letter, retry_count stays 4.
    world, events = make_world(offline_target())
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=1000)
    assert [e.time for e in attempts(events, NONCE)] == [0, 30, 90, 210, 450]
    assert all(e.data["http_status"] == 503 and e.data["code"] == "OFFLINE" for e in attempts(events, NONCE))
    row = world.bus.by_nonce[NONCE]
    assert row.status == "dead_letter"
    assert row.retry_count == 4
    assert row.failed_at == 450
    dead = [e.time for e in events if e.kind == "transition" and e.nonce == NONCE
            and e.data["path"] == "bus" and e.data["to"] == "dead_letter"]
    assert dead == [450]


def test_retry_schedule_records_next_retry_at_after_each_failure():
    world, events = make_world(offline_target())
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=1000)
    scheduled = [(e.time, e.data["retry_count"], e.data["next_retry_at"])
                 for e in events if e.kind == "retry_scheduled" and e.nonce == NONCE]
    assert scheduled == [(0, 1, 28), (30, 2, 87), (90, 3, 205), (210, 4, 443)]


def test_first_retry_is_computed_from_created_at_not_tick():
    # Send at 7: next 7+28=35 → tick 60; 60+57=117 → tick 120; 120+115=235 → tick 240;
    # 240+233=473 → tick 480 (dead letter).
    world, events = make_world(offline_target())
    send_at(world, 7, SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=1000)
    assert world.bus.by_nonce[NONCE].created_at == 7
    assert [e.time for e in attempts(events, NONCE)] == [7, 60, 120, 240, 480]
    assert world.bus.by_nonce[NONCE].failed_at == 480


def test_queued_row_keeps_failed_at_cleared_and_last_error():
    # §4.4: a retry is scheduled into queued with failed_at cleared and error set.
    world, _ = make_world(offline_target())
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=100)
    row = world.bus.by_nonce[NONCE]
    assert row.status == "queued"
    assert row.retry_count == 3  # attempts at 0, 30, 90 failed
    assert row.failed_at is None
    assert row.error is not None


def test_agent_back_before_first_retry_makes_retry_deliver():
    world, events = make_world(offline_target())
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=20)
    world.agents[TARGET].connect()
    world.env.run(until=100)
    row = world.bus.by_nonce[NONCE]
    assert row.status == "delivered"
    assert dispatch_times(events, NONCE) == [0, 30]
    assert [e.data["delivered"] for e in attempts(events, NONCE)] == [False, True]
    assert world.directory.rows[NONCE].status == "acked"
    assert world.agents[TARGET].received == 1


# -- send: non-retryable and recipient-side failures --------------------------------------


def test_directory_400_dead_letters_immediately_at_send():
    # A payload the catalog refuses (conversation.message needs `message`) → directory
    # BAD_REQUEST → HTTP 400 INVALID_INTENT → not retryable.
    world, events = make_world()
    resp = result(world, world.bus.send(SENDER, TARGET, "conversation.message", {}, nonce="n-ghost"))
    assert resp.http_status == 201
    assert resp.body["status"] == "dead_letter"
    assert resp.body["error_code"] == "INVALID_INTENT"
    assert set(resp.body) == {"message_id", "nonce", "status", "created_at", "error", "error_code"}
    world.env.run(until=600)
    assert len(attempts(events, "n-ghost")) == 1
    assert world.bus.by_nonce["n-ghost"].failed_at == 0
    assert bus_path(events, "n-ghost") == ["received", "dispatched", "dead_letter"]


def test_recipient_failure_is_retried_but_served_from_directory_cache_then_dead_letters():
    # Agent answers success:false RESULT_ERROR → HTTP 200 success:false → retryable (§4.5).
    # Later attempts get the cached failure; the agent receives the intent only once.
    world, events = make_world([{"id": TARGET, "failure_rate": 1.0, "failure_code": "RESULT_ERROR"}])
    sent = world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    first = result(world, sent)
    assert first.body["status"] == "queued"
    assert first.body["error_code"] == "RESULT_ERROR"
    world.env.run(until=1000)
    tries = attempts(events, NONCE)
    assert [e.time for e in tries[1:]] == [30, 90, 210, 450]
    assert all(e.data["http_status"] == 200 and e.data["code"] == "RESULT_ERROR" for e in tries)
    assert world.directory.claims["cached"] == 4
    assert world.agents[TARGET].received == 1
    row = world.bus.by_nonce[NONCE]
    assert (row.status, row.retry_count, row.failed_at) == ("dead_letter", 4, 450)


def test_non_listed_agent_error_code_is_retryable():
    world, _ = make_world([{"id": TARGET, "failure_rate": 1.0, "failure_code": "INTENT_HANDLER_ERROR"}])
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-handler"))
    assert resp.body["status"] == "queued"
    assert resp.body["error_code"] == "INTENT_HANDLER_ERROR"


def test_listed_agent_error_code_in_200_result_is_dead_lettered():
    # §14.7: HTTP 200 success:false is retryable unless its code is in the list.
    world, _ = make_world([{"id": TARGET, "failure_rate": 1.0, "failure_code": "FORBIDDEN"}])
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-forbid"))
    assert resp.body["status"] == "dead_letter"
    assert resp.body["error_code"] == "FORBIDDEN"


# -- dedupe ------------------------------------------------------------------------------


def test_same_nonce_same_body_in_other_key_order_is_200_deduped_with_current_status():
    world, events = make_world(offline_target())
    world.bus.send(SENDER, TARGET, "agent.ping", {"a": 1, "b": {"c": 2, "d": 3}}, nonce=NONCE)
    world.env.run(until=5)
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {"b": {"d": 3, "c": 2}, "a": 1}, nonce=NONCE))
    assert resp.http_status == 200
    row = world.bus.by_nonce[NONCE]
    assert resp.body == {"message_id": row.id, "nonce": NONCE, "status": "queued", "created_at": 0,
                         "retry_count": 1, "deduped": True}
    assert len(attempts(events, NONCE)) == 1
    assert world.bus.stats()["total"] == 1


def test_same_nonce_different_payload_is_409_nonce_reuse_conflict():
    world, _ = make_world()
    world.bus.send(SENDER, TARGET, "agent.ping", {"a": 1}, nonce="n-c")
    world.env.run(until=1)
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {"a": 2}, nonce="n-c"))
    assert resp.http_status == 409
    assert resp.body["errorCode"] == "NONCE_REUSE_CONFLICT"


def test_same_nonce_different_recipient_is_409_nonce_reuse_conflict():
    world, _ = make_world([{"id": TARGET}, {"id": OTHER}])
    world.bus.send(SENDER, TARGET, "agent.ping", {"a": 1}, nonce="n-r")
    world.env.run(until=1)
    resp = result(world, world.bus.send(SENDER, OTHER, "agent.ping", {"a": 1}, nonce="n-r"))
    assert resp.http_status == 409
    assert resp.body["errorCode"] == "NONCE_REUSE_CONFLICT"


def test_dedupe_consumes_no_rate_budget():
    world, _ = make_world(rate_limit_per_min=2)
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-1")
    for _ in range(5):
        assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-1")).http_status == 200
    assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-2")).http_status == 201
    assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-3")).http_status == 429


def test_dedupe_is_checked_before_rate_limit():
    world, _ = make_world(rate_limit_per_min=2)
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-1")
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-2")
    world.env.run(until=1)
    assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-3")).http_status == 429
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="n-1"))
    assert resp.http_status == 200
    assert resp.body["deduped"] is True
    assert resp.body["status"] == "delivered"


# -- rate limit --------------------------------------------------------------------------


def test_eleventh_send_within_60s_is_429_and_nothing_is_stored():
    world, _ = make_world()  # default limit 10/min
    for i in range(10):
        assert result(world, send_at(world, i, SENDER, TARGET, "agent.ping", {}, nonce=f"r-{i}")).http_status == 201
    resp = result(world, send_at(world, 59.5, SENDER, TARGET, "agent.ping", {}, nonce="r-10"))
    assert resp.http_status == 429
    assert resp.body["errorCode"] == "RATE_LIMIT_EXCEEDED"
    assert world.bus.stats()["total"] == 10
    assert "r-10" not in world.bus.by_nonce


def test_rate_window_slides_per_send():
    # Sends at 0..9 fill the window. Each later send is judged on the sends of the last
    # 60 s (a fixed window from the first hit would allow 10 more at once after 60).
    world, _ = make_world()
    for i in range(10):
        send_at(world, i, SENDER, TARGET, "agent.ping", {}, nonce=f"r-{i}")
    later = [send_at(world, t, SENDER, TARGET, "agent.ping", {}, nonce=f"r-{t}")
             for t in (60.5, 60.6, 61.5, 62.5, 62.6)]
    world.env.run(until=70)
    # 60.5: t=0 left → ok; 60.6: full → 429; 61.5: t=1 left → ok; 62.5: t=2 left → ok; 62.6: 429.
    assert [e.value.http_status for e in later] == [201, 429, 201, 201, 429]


def test_rate_limit_is_per_sender():
    world, _ = make_world([{"id": TARGET}, {"id": OTHER}], rate_limit_per_min=1)
    assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="p-1")).http_status == 201
    assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="p-2")).http_status == 429
    assert result(world, world.bus.send(OTHER, TARGET, "agent.ping", {}, nonce="p-3")).http_status == 201


def test_rejected_send_does_not_count_toward_rate_window():
    # Only accepted sends count: 429s at 30 do not extend the window past 60.
    world, _ = make_world(rate_limit_per_min=1)
    send_at(world, 0, SENDER, TARGET, "agent.ping", {}, nonce="w-1")
    assert result(world, send_at(world, 30, SENDER, TARGET, "agent.ping", {}, nonce="w-2")).http_status == 429
    assert result(world, send_at(world, 61, SENDER, TARGET, "agent.ping", {}, nonce="w-3")).http_status == 201


# -- validation --------------------------------------------------------------------------


def test_missing_from_to_or_intent_is_400_missing_required_fields():
    world, _ = make_world()
    for args in ((None, TARGET, "agent.ping"), (SENDER, None, "agent.ping"), (SENDER, TARGET, None),
                 ("", TARGET, "agent.ping")):
        resp = result(world, world.bus.send(*args, {}))
        assert resp.http_status == 400
        assert resp.body["errorCode"] == "MISSING_REQUIRED_FIELDS"
    assert world.bus.stats()["total"] == 0


def test_non_object_payload_is_400_invalid_payload():
    world, _ = make_world()
    for payload in ([1, 2], "text", 3):
        resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", payload, nonce="v-1"))
        assert resp.http_status == 400
        assert resp.body["errorCode"] == "INVALID_PAYLOAD"
    assert world.bus.stats()["total"] == 0


def test_missing_payload_is_accepted_as_empty_object():
    world, _ = make_world()
    resp = result(world, world.bus.send(SENDER, TARGET, "agent.ping", None, nonce="v-2"))
    assert resp.http_status == 201
    assert world.bus.by_nonce["v-2"].payload == {}


# -- worker batch ------------------------------------------------------------------------

# d(1) = 27 s for every one of these nonces (§4.4 hash), so sends at 0.0..1.1 are all
# due by the tick at 30.
BATCH_NONCES = [f"batch-{100 + i}" for i in range(12)]
BATCH_PRIORITIES = [0, 5, 0, 1, 5, 0, 1, 0, 5, 0, 1, 0]


def batch_world(latency: str) -> tuple[World, list[Event]]:
    """The 12 batch rows queued by t=1.1 (due at 27.0..28.1); TARGET reconnects at 29."""
    world, events = make_world([{"id": TARGET, "connected": False, "latency": latency}], rate_limit_per_min=50)
    for i, (nonce, prio) in enumerate(zip(BATCH_NONCES, BATCH_PRIORITIES)):
        send_at(world, i / 10, SENDER, TARGET, "agent.ping", {}, nonce=nonce, priority=prio)
    world.env.run(until=29)
    world.agents[TARGET].connect()
    return world, events


def test_worker_tick_takes_at_most_10_by_priority_desc_then_created_asc_one_at_a_time():
    world, events = batch_world("2s")
    assert [world.bus.by_nonce[n].next_retry_at for n in BATCH_NONCES] == [
        pytest.approx(i / 10 + 27) for i in range(12)]
    world.env.run(until=100)
    # Priority 5: sends 1, 4, 8; priority 1: 3, 6, 10; priority 0: 0, 2, 5, 7 | 9, 11.
    order = [1, 4, 8, 3, 6, 10, 0, 2, 5, 7]
    starts = [(e.time, e.nonce) for e in events if e.kind == "transition" and e.data["path"] == "bus"
              and e.data["to"] == "dispatched" and e.time >= 30]
    # One at a time: each 2 s attempt starts when the previous one ends.
    assert starts[:10] == [(30 + 2 * k, BATCH_NONCES[i]) for k, i in enumerate(order)]
    # The two left over wait for the next tick at 60.
    assert starts[10:] == [(60, BATCH_NONCES[9]), (62, BATCH_NONCES[11])]
    assert all(world.bus.by_nonce[n].status == "delivered" for n in BATCH_NONCES)


def test_overlapping_tick_selects_rows_still_queued_from_the_running_batch():
    # §4.4: no re-entrancy guard; each run selects status='queued' AND next_retry_at<=now.
    # 4 s attempts: batch 1 starts rows 1,4,8,3,6,10,0,2 at 30..58; at the tick at 60,
    # rows 5 and 7 (still queued, not reached yet) and 9, 11 are due, all priority 0,
    # so the second run starts with row 5 (oldest), not with row 9.
    world, events = batch_world("4s")
    world.env.run(until=61)
    at_60 = [e.nonce for e in events if e.kind == "transition" and e.data["path"] == "bus"
             and e.data["to"] == "dispatched" and e.time == 60]
    assert at_60 == [BATCH_NONCES[5]]


def test_restart_during_a_batch_leaves_no_queued_row_unprocessed():
    # §4.7: queued rows keep next_retry_at and the restarted worker selects every queued
    # due row, including rows the interrupted batch had not reached yet.
    world, _ = batch_world("4s")
    world.env.run(until=35)  # batch running: row 1 done, row 4 in flight, 8 rows waiting
    world.bus.restart()
    world.env.run(until=600)
    assert {n: world.bus.by_nonce[n].status for n in BATCH_NONCES} == dict.fromkeys(BATCH_NONCES, "delivered")


# -- requeue -----------------------------------------------------------------------------


def dead_lettered_world() -> tuple[World, list[Event], str]:
    """A message to an offline TARGET dead-lettered at 450 (see the schedule test)."""
    world, events = make_world(offline_target())
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)).body["message_id"]
    world.env.run(until=455)
    assert world.bus.by_nonce[NONCE].status == "dead_letter"
    return world, events, message_id


def test_requeue_unknown_id_is_404_message_not_found():
    world, _ = make_world()
    resp = result(world, world.bus.requeue("0" * 32))
    assert resp.http_status == 404
    assert resp.body["errorCode"] == "MESSAGE_NOT_FOUND"


def test_requeue_delivered_message_is_409_invalid_state():
    world, _ = make_world()
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="q-1")).body["message_id"]
    resp = result(world, world.bus.requeue(message_id))
    assert resp.http_status == 409
    assert resp.body["errorCode"] == "INVALID_STATE"
    assert world.bus.by_nonce["q-1"].status == "delivered"


def test_requeue_queued_message_is_409_invalid_state():
    world, _ = make_world(offline_target())
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)).body["message_id"]
    resp = result(world, world.bus.requeue(message_id))
    assert resp.http_status == 409
    assert resp.body["errorCode"] == "INVALID_STATE"


def test_requeue_after_root_cause_fixed_delivers_with_original_nonce_and_retry_count_0():
    world, events, message_id = dead_lettered_world()
    world.agents[TARGET].connect()
    world.env.run(until=460)
    resp = result(world, world.bus.requeue(message_id))
    assert resp.http_status == 200
    assert resp.body["requeued"] is True
    assert resp.body["status"] == "delivered"
    assert resp.body == {"message_id": message_id, "nonce": NONCE, "status": "delivered", "requeued": True}
    row = world.bus.by_nonce[NONCE]
    assert (row.status, row.retry_count, row.failed_at, row.error) == ("delivered", 0, None, None)
    assert dispatch_times(events, NONCE)[-1] == 460
    assert world.agents[TARGET].received == 1


def test_requeue_while_still_offline_gets_retry_count_1_next_at_requeue_time_plus_d1():
    world, _, message_id = dead_lettered_world()
    world.env.run(until=460)
    resp = result(world, world.bus.requeue(message_id))
    assert resp.http_status == 200
    assert resp.body["status"] == "queued"
    assert resp.body["retry_count"] == 1
    assert resp.body["requeued"] is True
    assert world.bus.by_nonce[NONCE].next_retry_at == 488  # 460 + d(1)=28


def test_requeue_grants_a_fresh_budget_of_5_attempts():
    # Requeue at 460 (attempt 1) → next 488 → tick 510 → next 510+57=567 → tick 570 →
    # next 570+115=685 → tick 690 → next 690+233=923 → tick 930 → dead letter.
    world, events, message_id = dead_lettered_world()
    world.env.run(until=460)
    world.bus.requeue(message_id)
    world.env.run(until=2000)
    assert [e.time for e in attempts(events, NONCE) if e.time >= 460] == [460, 510, 570, 690, 930]
    row = world.bus.by_nonce[NONCE]
    assert (row.status, row.retry_count, row.failed_at) == ("dead_letter", 4, 930)


def test_requeue_from_failed_is_accepted():
    world, _ = make_world()
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="q-f")).body["message_id"]
    assert world.bus.ack(message_id, "failed").http_status == 200
    resp = result(world, world.bus.requeue(message_id))
    assert resp.http_status == 200
    assert resp.body["requeued"] is True
    assert resp.body["status"] == "delivered"


def test_dead_letter_list_is_newest_failure_first_and_filters():
    world, _ = make_world([{"id": TARGET}, {"id": OTHER}])
    send_at(world, 0, GHOST, TARGET, "agent.ping", {}, nonce="d-1")
    send_at(world, 10, GHOST, OTHER, "agent.ping", {}, nonce="d-2")
    send_at(world, 20, GHOST, TARGET, "agent.ping", {}, nonce="d-3")
    world.env.run(until=30)
    assert [m.nonce for m in world.bus.dead_letters()] == ["d-3", "d-2", "d-1"]
    assert [m.nonce for m in world.bus.dead_letters(recipient=TARGET)] == ["d-3", "d-1"]
    assert [m.nonce for m in world.bus.dead_letters(limit=1)] == ["d-3"]


# -- poll and ack ------------------------------------------------------------------------


def test_poll_returns_delivered_rows_for_agent_oldest_first_without_changing_state():
    world, _ = make_world([{"id": TARGET}, {"id": OTHER}])
    for t, nonce in ((0, "p-0"), (1, "p-1"), (2, "p-2")):
        send_at(world, t, SENDER, TARGET, "agent.ping", {}, nonce=nonce)
    send_at(world, 3, SENDER, OTHER, "agent.ping", {}, nonce="p-other")
    world.env.run(until=10)
    ids = {world.bus.by_nonce[n].id: n for n in ("p-0", "p-1", "p-2")}

    def polled(**query: Any) -> list[str]:
        return [ids[item["id"]] for item in world.bus.poll(TARGET, **query).body["messages"]]

    assert polled() == ["p-0", "p-1", "p-2"]
    assert polled() == ["p-0", "p-1", "p-2"]
    assert polled(limit=2) == ["p-0", "p-1"]
    assert polled(since=0.5) == ["p-1", "p-2"]
    assert all(world.bus.by_nonce[n].status == "delivered" for n in ("p-0", "p-1", "p-2"))


def test_poll_with_status_returns_rows_in_that_status():
    world, _ = make_world(offline_target())
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=1)
    assert world.bus.poll(TARGET).body == {"messages": [], "count": 0}
    assert [m["id"] for m in world.bus.poll(TARGET, status="queued").body["messages"]] == [
        world.bus.by_nonce[NONCE].id]


def test_ack_checks_missing_id_then_status_then_unknown_id():
    world, _ = make_world()
    assert world.bus.ack(None, "bogus").body["errorCode"] == "MISSING_MESSAGE_ID"
    assert world.bus.ack(None, "bogus").http_status == 400
    bad = world.bus.ack("f" * 32, "bogus")
    assert (bad.http_status, bad.body["errorCode"]) == (400, "INVALID_STATUS")
    unknown = world.bus.ack("f" * 32, "acked")
    assert (unknown.http_status, unknown.body["errorCode"]) == (404, "MESSAGE_NOT_FOUND")


def test_ack_queued_message_as_acked_is_409_invalid_state():
    world, _ = make_world(offline_target())
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)).body["message_id"]
    resp = world.bus.ack(message_id, "acked")
    assert (resp.http_status, resp.body["errorCode"]) == (409, "INVALID_STATE")
    assert world.bus.by_nonce[NONCE].status == "queued"


def test_ack_delivered_then_acked_again_are_both_200():
    world, _ = make_world()
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="a-1")).body["message_id"]
    world.env.run(until=5)
    first = world.bus.ack(message_id, "acked", {"ok": True})
    assert first.http_status == 200
    row = world.bus.by_nonce["a-1"]
    assert (row.status, row.acked_at, row.response) == ("acked", 5, {"ok": True})
    assert world.bus.ack(message_id, "acked").http_status == 200
    assert row.status == "acked"


def test_ack_failed_from_delivered_sets_manually_failed():
    world, _ = make_world()
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="a-2")).body["message_id"]
    resp = world.bus.ack(message_id, "failed")
    assert resp.http_status == 200
    row = world.bus.by_nonce["a-2"]
    assert (row.status, row.error) == ("failed", "Manually failed")


def test_ack_failed_with_response_stores_response_json_as_error():
    world, _ = make_world()
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="a-3")).body["message_id"]
    world.bus.ack(message_id, "failed", {"reason": "nope", "n": 1.0, "text": "é"})
    # JSON.stringify: no spaces, 1.0 is 1, non-ASCII kept.
    assert world.bus.by_nonce["a-3"].error == '{"reason":"nope","n":1,"text":"é"}'
    row = world.bus.by_nonce["a-3"]
    assert row.status == "failed"
    assert json.loads(row.error) == {"reason": "nope", "n": 1, "text": "é"}


def test_ack_failed_from_acked_or_dead_letter_is_409():
    world, _ = make_world()
    acked_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="a-4")).body["message_id"]
    world.bus.ack(acked_id, "acked")
    assert world.bus.ack(acked_id, "failed").http_status == 409
    dead_id = result(world, world.bus.send(GHOST, TARGET, "agent.ping", {}, nonce="a-5")).body["message_id"]
    assert world.bus.ack(dead_id, "failed").http_status == 409
    assert world.bus.ack(dead_id, "acked").http_status == 409


def test_ack_failed_from_queued_is_allowed():
    world, _ = make_world(offline_target())
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)).body["message_id"]
    assert world.bus.ack(message_id, "failed").http_status == 200
    assert world.bus.by_nonce[NONCE].status == "failed"


# -- restart -----------------------------------------------------------------------------


def restart_world() -> tuple[World, list[Event]]:
    world, events = make_world([{"id": TARGET, "latency": "20s"}, {"id": OTHER, "connected": False}])
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="in-flight")  # dispatched until 20
    return world, events


def test_restart_moves_dispatched_row_to_queued_now_with_recovery_error():
    world, _ = restart_world()
    world.env.run(until=5)
    assert world.bus.by_nonce["in-flight"].status == "dispatched"
    world.bus.restart()
    row = world.bus.by_nonce["in-flight"]
    assert (row.status, row.next_retry_at, row.error) == ("queued", 5, "Recovered after message bus restart")


def test_restart_keeps_queued_next_retry_at_and_leaves_finished_rows_alone():
    world, _ = restart_world()
    send_at(world, 1, SENDER, OTHER, "agent.ping", {}, nonce=NONCE)  # queued, next 1+28=29
    world.bus.send(GHOST, OTHER, "agent.ping", {}, nonce="dead")
    world.env.run(until=5)
    world.bus.restart()
    queued = world.bus.by_nonce[NONCE]
    assert (queued.status, queued.next_retry_at, queued.retry_count) == ("queued", 29, 1)
    dead = world.bus.by_nonce["dead"]
    assert (dead.status, dead.failed_at) == ("dead_letter", 1)


def test_restart_leaves_delivered_rows_alone():
    world, _ = make_world()
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="done")
    world.env.run(until=5)
    delivered_at = world.bus.by_nonce["done"].delivered_at
    world.bus.restart()
    row = world.bus.by_nonce["done"]
    assert (row.status, row.delivered_at, row.error) == ("delivered", delivered_at, None)


def test_restart_worker_ticks_30s_after_restart_and_recovered_row_gets_cached_ack():
    # Restart at 5 → ticks at 35, 65, … (no tick at 30). The recovered row is due at 5;
    # the queued row at 29. The directory acked "in-flight" at 20, so the retry at 35
    # gets the cached ack and the bus row ends delivered.
    world, events = restart_world()
    send_at(world, 1, SENDER, OTHER, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=5)
    world.bus.restart()
    world.env.run(until=40)
    assert [e.time for e in attempts(events, "in-flight")] == [35]
    assert [e.time for e in attempts(events, NONCE)] == [1, 35]
    assert world.bus.by_nonce["in-flight"].status == "delivered"
    assert world.agents[TARGET].received == 1


def test_restart_resets_rate_windows():
    world, _ = make_world(rate_limit_per_min=1)
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="rl-1")
    assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="rl-2")).http_status == 429
    world.bus.restart()
    assert result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="rl-3")).http_status == 201


# -- stats -------------------------------------------------------------------------------


def test_stats_totals_by_status_and_by_agent():
    world, _ = make_world([{"id": TARGET}, {"id": OTHER, "connected": False}])
    a = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="s-1")).body["message_id"]
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="s-2")
    world.bus.send(SENDER, OTHER, "agent.ping", {}, nonce="s-3")
    world.bus.send(GHOST, TARGET, "agent.ping", {}, nonce="s-4")
    world.env.run(until=2)
    world.bus.ack(a, "acked")
    assert world.bus.stats() == {
        "total": 4, "queued": 1, "received": 0, "dispatched": 0, "delivered": 1, "acked": 1,
        "failed": 0, "dead_letter": 1,
        "by_agent": {
            GHOST: {"sent": 1, "received": 0},
            OTHER: {"sent": 0, "received": 1},
            SENDER: {"sent": 3, "received": 0},
            TARGET: {"sent": 0, "received": 3},
        },
        "last_24h": 4,
    }


def test_stats_last_24h_drops_rows_older_than_86400s():
    world, _ = make_world()
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="old")
    send_at(world, 86401, SENDER, TARGET, "agent.ping", {}, nonce="new")
    world.env.run(until=86402)
    stats = world.bus.stats()
    assert (stats["total"], stats["delivered"], stats["last_24h"]) == (2, 2, 1)


# -- attempt timeout ---------------------------------------------------------------------


def test_bus_attempt_times_out_at_30s_then_next_attempt_gets_directory_cached_ack():
    # Send at 1 (off the tick grid). Agent latency 45 s: the bus aborts at 1+30=31 with
    # TIMEOUT (retryable) → queued, retry 1, next 1+28=29 (from created_at). The
    # directory's HTTP wait is 60 s, so it acks at 1+45=46. Tick 60: cached ack → delivered.
    world, events = make_world([{"id": TARGET, "latency": "45s"}])
    sent = send_at(world, 1, SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=32)
    resp = sent.value
    assert resp.http_status == 201
    assert (resp.body["status"], resp.body["retry_count"], resp.body["error_code"]) == ("queued", 1, "TIMEOUT")
    assert world.bus.by_nonce[NONCE].next_retry_at == 29
    world.env.run(until=100)
    assert [(e.time, e.data["code"]) for e in attempts(events, NONCE)] == [(31, "TIMEOUT"), (60, None)]
    acked = [e.time for e in events if e.kind == "transition" and e.nonce == NONCE
             and e.data["path"] == "directory" and e.data["to"] == "acked"]
    assert acked == [46]
    assert world.bus.by_nonce[NONCE].status == "delivered"
    assert world.directory.claims["cached"] == 1
    assert world.agents[TARGET].received == 1


def test_later_retry_is_computed_from_failure_time_and_409_in_progress_is_retried():
    # Agent latency 200 s; directory HTTP wait 60 s; bus aborts each attempt after 30 s.
    # 1: send, abort at 31 (TIMEOUT) → retry 1, next 1+28=29 → tick 60.
    # 60: directory row still in flight (59 s old ≤ 120) → 409 IN_PROGRESS, retryable
    #     → retry 2, next 60+57=117 → tick 120.
    # 120: directory row failed TIMEOUT at 61 → reset, redelivered; bus aborts at 150
    #     → retry 3, next 150+115=265 (from the failure, not the tick) → tick 270.
    # 270: directory row 150 s old > 120 → reset, redelivered; abort at 300 → retry 4,
    #     next 300+233=533 → tick 540; abort at 570 → dead letter.
    world, events = make_world([{"id": TARGET, "latency": "200s"}])
    send_at(world, 1, SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=1000)
    assert dispatch_times(events, NONCE) == [1, 60, 120, 270, 540]
    assert [(e.time, e.data["http_status"], e.data["code"]) for e in attempts(events, NONCE)] == [
        (31, None, "TIMEOUT"), (60, 409, "IN_PROGRESS"), (150, None, "TIMEOUT"),
        (300, None, "TIMEOUT"), (570, None, "TIMEOUT")]
    assert [e.data["next_retry_at"] for e in events if e.kind == "retry_scheduled"] == [29, 117, 265, 533]
    row = world.bus.by_nonce[NONCE]
    assert (row.status, row.retry_count, row.failed_at, row.error) == (
        "dead_letter", 4, 570, "Delivery timeout (30s)")


# -- operator actions racing an attempt in flight (router.ts, db.ts, worker.ts) ---------


def slow_world() -> tuple[World, list[Event]]:
    """TARGET answers 20 s after a frame reaches it; the transition audit is on."""
    world, events = make_world([{"id": TARGET, "latency": "20s"}])
    world.audit_transitions()
    return world, events


def refusals(events: list[Event]) -> list[tuple[float, str, str, str]]:
    return [(e.time, e.data["where"], e.data["from"], e.data["to"]) for e in events if e.kind == "update_refused"]


def test_ack_failed_while_the_send_attempt_is_in_flight_keeps_the_row_failed():
    # Beam: ack(failed) moves dispatched → failed; the send's markDelivered at 20 throws
    # (failed → delivered is not in the table), Hono answers a plain-text 500, the row stays.
    world, events = slow_world()
    sent = world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="race")
    world.env.run(until=5)
    message_id = world.bus.by_nonce["race"].id
    assert world.bus.ack(message_id, "failed").body == {"message_id": message_id, "status": "failed",
                                                        "updated_at": 5}
    world.env.run(until=30)
    assert sent.value == (500, {}, "Internal Server Error")
    row = world.bus.by_nonce["race"]
    assert (row.status, row.error, row.failed_at, row.delivered_at) == ("failed", "Manually failed", 5, None)
    assert refusals(events) == [(20, "send", "failed", "delivered")]
    assert world.bus.refused_updates == 1
    assert world.summary().conservation == []


def test_ack_acked_while_an_attempt_is_in_flight_is_409_with_beams_message():
    world, _ = slow_world()
    world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="race")
    world.env.run(until=5)
    message_id = world.bus.by_nonce["race"].id
    resp = world.bus.ack(message_id)  # status defaults to acked
    assert resp == (409, {"error": f"Invalid message {message_id} lifecycle transition from dispatched to acked",
                          "errorCode": "INVALID_STATE"}, None)
    world.env.run(until=30)
    assert world.bus.by_nonce["race"].status == "delivered"


def test_ack_defaults_to_acked_and_answers_beams_three_keys():
    world, _ = make_world()
    message_id = result(world, world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce="a")).body["message_id"]
    assert world.bus.ack(message_id).body == {"message_id": message_id, "status": "acked", "updated_at": 1}


def test_requeue_while_the_first_attempt_is_in_flight_refuses_that_attempts_update():
    # ack(failed) at 5, requeue at 6: the directory's row is in flight → 409 IN_PROGRESS,
    # retryable → queued (retry 1 due 6 + d(1)). The send's own attempt answers at 20:
    # markDelivered on a queued row is refused. The worker's retry then gets the cached ack.
    world, events = slow_world()
    sent = world.bus.send(SENDER, TARGET, "agent.ping", {}, nonce=NONCE)
    world.env.run(until=5)
    message_id = world.bus.by_nonce[NONCE].id
    world.bus.ack(message_id, "failed")
    world.env.run(until=6)
    requeued = result(world, world.bus.requeue(message_id))
    assert requeued.body == {"message_id": message_id, "nonce": NONCE, "status": "queued", "requeued": True,
                             "retry_count": 1, "next_retry_at": 6 + 28,
                             "error": f"Intent with nonce {NONCE} is already being processed",
                             "error_code": "IN_PROGRESS"}
    world.env.run(until=100)
    assert sent.value.http_status == 500
    assert refusals(events) == [(20, "send", "queued", "delivered")]
    row = world.bus.by_nonce[NONCE]
    assert (row.status, row.error) == ("delivered", None)
    assert world.agents[TARGET].received == 1
    assert world.summary().conservation == []


def test_an_operator_failing_a_worker_attempt_in_flight_ends_the_batch():
    # Three seeded rows due at 0; tick 30 takes them all. Row a is in flight 30 → 50;
    # ack(failed) at 35; at 50 markDelivered is refused and Beam's catch ends the batch:
    # b and c are left queued for tick 60.
    world, events = slow_world()
    ids = [world.seed_bus_message(SENDER, TARGET, "agent.ping", {}, nonce=n, status="queued", next_retry_at=0)
           for n in ("a", "b", "c")]
    world.env.run(until=35)
    assert world.bus.by_nonce["a"].status == "dispatched"
    assert world.bus.ack(ids[0], "failed").http_status == 200
    world.env.run(until=55)
    assert refusals(events) == [(50, "worker", "failed", "delivered")]
    assert [world.bus.by_nonce[n].status for n in "abc"] == ["failed", "queued", "queued"]
    world.env.run(until=120)
    assert dispatch_times(events, "b") == [60]
    assert dispatch_times(events, "c") == [80]
    assert [world.bus.by_nonce[n].status for n in "abc"] == ["failed", "delivered", "delivered"]
    assert world.summary().conservation == []


def test_an_operator_failing_a_row_the_batch_has_not_reached_ends_the_batch_there():
    # Tick 30 takes a, b, c. b is failed at 35 while a is in flight; at 50 the batch's
    # markDispatched(b) throws (failed → dispatched), so c waits for tick 60.
    world, events = slow_world()
    ids = [world.seed_bus_message(SENDER, TARGET, "agent.ping", {}, nonce=n, status="queued", next_retry_at=0)
           for n in ("a", "b", "c")]
    world.env.run(until=35)
    assert world.bus.ack(ids[1], "failed").http_status == 200
    world.env.run(until=120)
    assert refusals(events) == [(50, "worker", "failed", "dispatched")]
    assert dispatch_times(events, "c") == [60]
    assert [world.bus.by_nonce[n].status for n in "abc"] == ["delivered", "failed", "delivered"]
    assert world.summary().conservation == []


# -- seeded rows (World.seed_bus_message) and restart recovery ---------------------------


def test_restart_recovers_seeded_received_and_dispatched_rows_in_created_order():
    world, events = make_world()
    world.seed_bus_message(SENDER, TARGET, "agent.ping", {}, nonce="seed-dispatched", status="dispatched")
    world.env.run(until=1)
    world.seed_bus_message(SENDER, TARGET, "agent.ping", {}, nonce="seed-received")
    world.seed_bus_message(SENDER, TARGET, "agent.ping", {}, nonce="seed-delivered", status="delivered")
    assert [world.bus.by_nonce[n].status for n in ("seed-dispatched", "seed-received")] == ["dispatched", "received"]
    world.env.run(until=5)
    world.restart_bus()
    for nonce in ("seed-dispatched", "seed-received"):
        row = world.bus.by_nonce[nonce]
        assert (row.status, row.next_retry_at, row.error) == ("queued", 5, "Recovered after message bus restart")
    assert world.bus.by_nonce["seed-delivered"].status == "delivered"
    world.env.run(until=40)  # the restarted worker ticks at 35
    assert dispatch_times(events, "seed-dispatched") == [0, 35]  # seeded dispatched at 0
    # one at a time: the second after the first attempt's answer (the agent's 50 ms latency)
    assert dispatch_times(events, "seed-received") == [pytest.approx(35.05)]
    assert [e.nonce for e in events if e.kind == "attempt"] == ["seed-dispatched", "seed-received"]
    assert [world.bus.by_nonce[n].status for n in ("seed-dispatched", "seed-received")] == ["delivered"] * 2
    assert world.agents[TARGET].received == 2
    assert world.summary().conservation == []


def test_seeded_rows_take_beams_updates_and_refuse_what_beam_refuses():
    world, _ = make_world()
    message_id = world.seed_bus_message(SENDER, TARGET, "agent.ping", {}, nonce="s", status="dead_letter",
                                        error="boom")
    row = world.bus.by_nonce["s"]
    assert (row.status, row.error, row.failed_at) == ("dead_letter", "boom", 0)
    with pytest.raises(LifecycleRefused, match=f"Invalid message {message_id} lifecycle transition from "
                                               "dead_letter to delivered"):
        world.bus.mark(message_id, "delivered")
    with pytest.raises(ValueError):
        world.seed_bus_message(SENDER, TARGET, "agent.ping", {}, status="validated")


def test_poll_defaults_to_10_items():
    world, _ = make_world()
    for index in range(12):
        world.seed_bus_message(SENDER, TARGET, "agent.ping", {"i": index}, status="delivered")
    assert world.bus.poll(TARGET).body["count"] == 10
    assert world.bus.poll(TARGET, limit=500).body["count"] == 12
