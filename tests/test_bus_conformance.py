"""Beam's own bus tests, translated: ``packages/message-bus/tests/bus.test.ts`` at
Beam-directory/beam-protocol e5bb25e, one test per ``it(...)`` case, the upstream name
in each docstring, run against our bus's public API.

Beam's file mocks ``deliverToDirectory`` (every delivery succeeds unless a case scripts
one answer) and seeds rows with ``insertMessage`` and the ``mark*`` updates of ``db.ts``.
Here :class:`ScriptedDirectory` stands in for the directory (it records every frame and
answers a success unless a case queued an answer), and rows are seeded with
:meth:`Bus.insert_message` and :meth:`Bus.mark`. The bus is built as Beam's test builds
its router: rate limit 10 per minute, the retry worker off unless a case starts it (here:
an interval the case picks).

Upstream cases that exercise only the HTTP transport, which our bus (called in-process,
with already parsed arguments) has no part of, do not apply:

- "returns 400 from /send with malformed JSON": JSON parsing of the request body
  (``INVALID_JSON``) happens before the bus sees any field.
- "returns 400 when /ack receives malformed JSON": the same, for ``/ack``.
- "allows loopback dashboard origins to read bus health and dead-letter data": CORS
  response headers (``cors.ts``) and the ``/health`` route.
- "responds to browser preflight for protected dead-letter routes": an HTTP ``OPTIONS``
  preflight, CORS headers and the bearer-token middleware.
"""

from __future__ import annotations

import random
from typing import Any

import simpy

from simulator.beam.bus import Bus
from simulator.beam.relay import Frame, RelayOutcome
from simulator.beam.retry import BeamBackoff
from simulator.kernel.events import Event, EventStream

ALPHA = "alpha@beam.directory"
BETA = "beta@beam.directory"
OK = RelayOutcome(200, True, payload={})


class ScriptedDirectory:
    """The test double for ``deliverToDirectory``: answers at once, a success unless an
    answer was queued with :meth:`answer_once`; records every frame it was given."""

    def __init__(self) -> None:
        self.calls: list[Frame] = []
        self.queued: list[RelayOutcome] = []

    def answer_once(self, outcome: RelayOutcome) -> None:
        """``mockResolvedValueOnce``: the next delivery gets ``outcome``."""
        self.queued.append(outcome)

    def submit(self, frame: Frame, origin: str, done: Any = None, client_ip: str | None = None) -> None:
        """Record the frame and answer."""
        self.calls.append(frame)
        if done is not None:
            done(self.queued.pop(0) if self.queued else OK)

    def delivered(self) -> list[tuple[str, str, str, str, dict[str, Any]]]:
        """(nonce, sender, recipient, intent, payload) of every call, as Beam's
        ``toHaveBeenCalledWith`` checks them."""
        return [(f.nonce, f.sender, f.recipient, f.intent, f.payload) for f in self.calls]


def make_bus(worker_interval: float = 10**9) -> tuple[Bus, ScriptedDirectory, list[Event]]:
    """``createBusRouter({db: ':memory:', rateLimit: 10})`` over a scripted directory."""
    env = simpy.Environment()
    events = EventStream(lambda: env.now)
    captured: list[Event] = []
    events.subscribe(captured.append)
    directory = ScriptedDirectory()
    bus = Bus(env, events, directory, BeamBackoff(), random.Random(1),  # type: ignore[arg-type]
              rate_limit_per_min=10, worker_interval=worker_interval)
    bus.watch()
    return bus, directory, captured


def answer(bus: Bus, event: simpy.Event) -> Any:
    """Run until a send or requeue answered; return its response."""
    bus.env.run(until=bus.env.now + 1)
    assert event.triggered
    return event.value


def seed(bus: Bus, *marks: str, nonce: str | None = None, **fields: Any) -> str:
    """``insertMessage`` alpha → beta ``chat`` {text: hello}, then the ``mark*`` updates."""
    message_id = bus.insert_message(fields.pop("sender", ALPHA), fields.pop("recipient", BETA),
                                    fields.pop("intent", "chat"), fields.pop("payload", {"text": "hello"}), nonce,
                                    max_retries=fields.pop("max_retries", None))
    for status in marks:
        bus.mark(message_id, status, **fields)
    return message_id


def test_roundtrips_insert_message_and_get_message() -> None:
    """roundtrips insertMessage + getMessage"""
    bus, _, _ = make_bus()
    message_id = bus.insert_message(ALPHA, BETA, "chat", {"text": "hello"})
    message = bus.get_message(message_id)
    assert message is not None
    assert message.id == message_id
    assert message.nonce
    assert message.sender == ALPHA
    assert message.payload == {"text": "hello"}
    assert message.status == "received"


def test_returns_201_from_send_with_a_valid_payload() -> None:
    """returns 201 from /send with a valid payload"""
    bus, _, _ = make_bus()
    response = answer(bus, bus.send(ALPHA, BETA, "chat", {"text": "hello"}))
    assert response.http_status == 201
    assert isinstance(response.body["message_id"], str)
    assert isinstance(response.body["nonce"], str)
    assert response.body["status"] == "delivered"
    assert set(response.body) == {"message_id", "nonce", "status", "created_at"}


def test_dedupes_duplicate_sends_with_the_same_nonce() -> None:
    """dedupes duplicate sends with the same nonce"""
    bus, directory, _ = make_bus()
    nonce = "nonce-dedupe-1"
    first = answer(bus, bus.send(ALPHA, BETA, "chat", {"text": "hello"}, nonce=nonce))
    second = answer(bus, bus.send(ALPHA, BETA, "chat", {"text": "hello"}, nonce=nonce))
    assert first.http_status == 201
    assert second.http_status == 200
    assert len(directory.calls) == 1
    assert second.body == {"message_id": first.body["message_id"], "nonce": nonce, "status": "delivered",
                           "created_at": first.body["created_at"], "retry_count": 0, "deduped": True}


def test_rejects_nonce_reuse_for_a_different_message_body() -> None:
    """rejects nonce reuse for a different message body"""
    bus, _, _ = make_bus()
    nonce = "nonce-conflict-1"
    first = answer(bus, bus.send(ALPHA, BETA, "chat", {"text": "hello"}, nonce=nonce))
    second = answer(bus, bus.send(ALPHA, BETA, "chat", {"text": "different"}, nonce=nonce))
    assert first.http_status == 201
    assert second.http_status == 409
    assert second.body == {"error": f"Nonce {nonce} already belongs to a different message",
                           "errorCode": "NONCE_REUSE_CONFLICT"}


def test_returns_400_from_send_when_required_fields_are_missing() -> None:
    """returns 400 from /send when required fields are missing"""
    bus, _, _ = make_bus()
    response = answer(bus, bus.send(ALPHA, None, None))
    assert response.http_status == 400
    assert response.body == {"error": "Missing required fields: from, to, intent",
                             "errorCode": "MISSING_REQUIRED_FIELDS"}


def test_returns_400_from_send_when_payload_is_not_an_object() -> None:
    """returns 400 from /send when payload is not an object"""
    bus, _, _ = make_bus()
    response = answer(bus, bus.send(ALPHA, BETA, "chat", ["hello"]))
    assert response.http_status == 400
    assert response.body == {"error": "payload must be an object", "errorCode": "INVALID_PAYLOAD"}


def test_returns_an_empty_array_from_poll_when_there_are_no_messages() -> None:
    """returns an empty array from /poll when there are no messages"""
    bus, _, _ = make_bus()
    response = bus.poll(BETA)
    assert response.http_status == 200
    assert response.body == {"messages": [], "count": 0}


def test_returns_delivered_messages_from_poll() -> None:
    """returns delivered messages from /poll"""
    bus, _, _ = make_bus()
    message_id = seed(bus, "dispatched", "delivered", payload={"text": "hi"})
    response = bus.poll(BETA)
    assert response.http_status == 200
    assert response.body["count"] == 1
    assert response.body["messages"][0]["id"] == message_id
    assert response.body["messages"][0]["payload"] == {"text": "hi"}
    assert set(response.body["messages"][0]) == {"id", "sender", "intent", "payload", "priority", "created_at",
                                                 "delivered_at", "trace_id"}


def test_returns_400_from_poll_when_agent_is_missing() -> None:
    """returns 400 from /poll when agent is missing"""
    bus, _, _ = make_bus()
    for agent in (None, ""):
        response = bus.poll(agent)
        assert response.http_status == 400
        assert response.body == {"error": "agent query parameter is required", "errorCode": "MISSING_AGENT"}


def test_acks_a_valid_message_id() -> None:
    """acks a valid message_id"""
    bus, _, _ = make_bus()
    message_id = seed(bus, "dispatched", "delivered")
    response = bus.ack(message_id, "acked", {"ok": True})
    assert response.http_status == 200
    assert response.body == {"message_id": message_id, "status": "acked", "updated_at": bus.env.now}
    message = bus.get_message(message_id)
    assert message is not None and message.status == "acked"


def test_returns_404_when_ack_receives_an_unknown_message_id() -> None:
    """returns 404 when /ack receives an unknown message_id"""
    bus, _, _ = make_bus()
    response = bus.ack("missing", "acked")
    assert response.http_status == 404
    assert response.body == {"error": "Message missing not found", "errorCode": "MESSAGE_NOT_FOUND"}


def test_returns_400_when_ack_receives_an_invalid_status() -> None:
    """returns 400 when /ack receives an invalid status"""
    bus, _, _ = make_bus()
    message_id = seed(bus)
    response = bus.ack(message_id, "weird")
    assert response.http_status == 400
    assert response.body == {"error": 'status must be "acked" or "failed"', "errorCode": "INVALID_STATUS"}


def test_returns_409_when_ack_receives_a_message_in_the_wrong_lifecycle_state() -> None:
    """returns 409 when /ack receives a message in the wrong lifecycle state"""
    bus, _, _ = make_bus()
    message_id = seed(bus)
    response = bus.ack(message_id, "acked")
    assert response.http_status == 409
    assert response.body == {"error": f"Invalid message {message_id} lifecycle transition from received to acked",
                             "errorCode": "INVALID_STATE"}


def test_dead_letters_non_retryable_send_failures_immediately() -> None:
    """dead-letters non-retryable send failures immediately"""
    bus, directory, _ = make_bus()
    directory.answer_once(RelayOutcome(400, False, "INVALID_INTENT", "BAD_REQUEST",
                                       error="Signature verification failed"))
    response = answer(bus, bus.send(ALPHA, BETA, "chat", {"text": "hello"}, nonce="dead-letter-now"))
    assert response.http_status == 201
    assert response.body["status"] == "dead_letter"
    message = bus.get_message(response.body["message_id"])
    assert message is not None and message.status == "dead_letter"
    assert message.error == "Signature verification failed"


def test_lists_dead_lettered_messages_through_the_operator_endpoint() -> None:
    """lists dead-lettered messages through the operator endpoint"""
    bus, _, _ = make_bus()
    message_id = seed(bus, "dead_letter", nonce="dead-letter-list", error="boom")
    messages = bus.dead_letters()
    assert len(messages) == 1
    assert messages[0].id == message_id
    assert messages[0].nonce == "dead-letter-list"
    assert messages[0].status == "dead_letter"


def test_requeues_dead_lettered_messages_with_the_original_nonce() -> None:
    """requeues dead-lettered messages with the original nonce"""
    bus, directory, _ = make_bus()
    message_id = seed(bus, "dead_letter", nonce="requeue-nonce", error="boom")
    response = answer(bus, bus.requeue(message_id))
    assert response.http_status == 200
    assert response.body == {"message_id": message_id, "nonce": "requeue-nonce", "status": "delivered",
                             "requeued": True}
    assert directory.delivered() == [("requeue-nonce", ALPHA, BETA, "chat", {"text": "hello"})]


def test_returns_correct_counts_from_stats() -> None:
    """returns correct counts from /stats"""
    bus, _, _ = make_bus()
    delivered_id = seed(bus, payload={"seq": 1})
    acked_id = seed(bus, recipient="gamma@beam.directory", intent="task.execute", payload={"seq": 2})
    failed_id = seed(bus, sender="delta@beam.directory", intent="notify", payload={"seq": 3})
    pending_id = seed(bus, sender="epsilon@beam.directory", recipient="zeta@beam.directory", intent="notify",
                      payload={"seq": 4})
    bus.mark(delivered_id, "dispatched")
    bus.mark(delivered_id, "delivered")
    bus.mark(acked_id, "dispatched")
    bus.mark(acked_id, "delivered")
    bus.mark(acked_id, "acked", response={"ok": True})
    bus.mark(failed_id, "dispatched")
    bus.mark(failed_id, "failed", error="boom")
    bus.mark(pending_id, "queued", retry_count=1, next_retry_at=bus.env.now + 60, error="offline")
    pending = bus.get_message(pending_id)
    assert pending is not None and pending.status == "queued"
    stats = bus.stats()
    assert (stats["total"], stats["queued"], stats["received"], stats["dispatched"], stats["delivered"],
            stats["acked"], stats["failed"], stats["dead_letter"]) == (4, 1, 0, 0, 1, 1, 1, 0)


def test_rate_limits_the_11th_message_from_the_same_sender() -> None:
    """rate limits the 11th message from the same sender"""
    bus, _, _ = make_bus()
    for index in range(10):
        response = answer(bus, bus.send("limited@beam.directory", f"target-{index}@beam.directory", "chat",
                                        {"seq": index}))
        assert response.http_status == 201
    blocked = answer(bus, bus.send("limited@beam.directory", "overflow@beam.directory", "chat", {"seq": 10}))
    assert blocked.http_status == 429
    assert blocked.body == {"error": "Rate limit exceeded for limited@beam.directory (max 10/min)",
                            "errorCode": "RATE_LIMIT_EXCEEDED"}


def test_removes_test_and_demo_messages_from_the_database() -> None:
    """removes test and demo messages from the database"""
    bus, _, _ = make_bus()
    kept_id = seed(bus, payload={"keep": True})
    seed(bus, sender="sender@test.example", payload={"drop": "sender"})
    seed(bus, recipient="recipient@demo.example", payload={"drop": "recipient"})
    assert bus.clean_test_messages() == 2
    kept = bus.get_message(kept_id)
    assert kept is not None and kept.status == "received"
    assert len(bus.by_id) == 1


def test_retries_queued_messages_with_a_stable_nonce_and_dead_letters_after_max_retries() -> None:
    """retries queued messages with a stable nonce and dead-letters after max retries"""
    bus, directory, _ = make_bus(worker_interval=0.05)
    directory.answer_once(RelayOutcome(503, False, "OFFLINE", "OFFLINE", error="still offline"))
    message_id = seed(bus, nonce="retry-nonce-1", max_retries=2)
    bus.mark(message_id, "queued", retry_count=1, next_retry_at=bus.env.now - 1, error="offline")
    bus.env.run(until=0.05 + 1e-9)  # advanceTimersByTimeAsync(50): one tick
    assert directory.delivered() == [("retry-nonce-1", ALPHA, BETA, "chat", {"text": "hello"})]
    message = bus.get_message(message_id)
    assert message is not None and message.status == "dead_letter"
    assert message.error == "still offline"


def test_requeues_interrupted_dispatched_messages_on_startup_and_replays_them_with_the_original_nonce() -> None:
    """requeues interrupted dispatched messages on startup and replays them with the original nonce"""
    bus, directory, events = make_bus(worker_interval=0.05)
    message_id = seed(bus, "dispatched", nonce="restart-replay-nonce", payload={"text": "restart"})
    bus.restart()
    restarts = [e for e in events if e.kind == "restart"]
    assert [e.data["recovered"] for e in restarts] == [1]
    message = bus.get_message(message_id)
    assert message is not None
    assert (message.status, message.nonce) == ("queued", "restart-replay-nonce")
    bus.env.run(until=0.05 + 1e-9)
    assert directory.delivered() == [("restart-replay-nonce", ALPHA, BETA, "chat", {"text": "restart"})]
    assert message.status == "delivered"


def test_keeps_retry_windows_intact_across_a_bus_restart() -> None:
    """keeps retry windows intact across a bus restart"""
    bus, directory, _ = make_bus(worker_interval=0.05)
    message_id = seed(bus, nonce="restart-window-nonce", payload={"text": "window"})
    next_retry_at = bus.env.now + 60
    bus.mark(message_id, "queued", retry_count=1, next_retry_at=next_retry_at, error="offline")
    bus.restart()
    message = bus.get_message(message_id)
    assert message is not None
    assert (message.status, message.next_retry_at) == ("queued", next_retry_at)
    bus.env.run(until=0.05 + 1e-9)
    assert directory.calls == []
    bus.env.run(until=61.0)  # the clock moves past the retry window; the next ticks take it
    assert directory.delivered() == [("restart-window-nonce", ALPHA, BETA, "chat", {"text": "window"})]
    assert message.status == "delivered"
