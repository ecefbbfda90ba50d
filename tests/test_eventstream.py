"""The event stream's own mechanics (simulator/kernel/events): events stamped with the
clock's time and delivered in subscription order, and sinks given as objects with a
Python ``__call__`` (span recorders, checkers), which the stream keeps as bound methods."""

from __future__ import annotations

from typing import Any

import pytest

from simulator.kernel.events import Event, EventStream, EventWriter


class Recorder:
    """A sink object with a Python ``__call__``."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)


class FieldRecorder(EventWriter):
    """A writer keeping the fields it is given."""

    def __init__(self, order: list[str]) -> None:
        self.order = order
        self.fields: list[tuple[Any, str, str | None, dict[str, Any]]] = []

    def write(self, time: Any, kind: str, nonce: str | None, data: dict[str, Any]) -> None:
        self.order.append("writer")
        self.fields.append((time, kind, nonce, data))


def test_emit_and_emit_data_stamp_the_clock_time() -> None:
    times = iter([1.5, 2.0])
    stream = EventStream(lambda: next(times))
    seen: list[Event] = []
    stream.subscribe(seen.append)
    stream.emit("deduped", "n1", status="queued")
    stream.emit_data("restart", None, {"component": "bus", "recovered": 0})
    assert seen == [Event(1.5, "deduped", "n1", {"status": "queued"}),
                    Event(2.0, "restart", None, {"component": "bus", "recovered": 0})]


def test_a_sink_object_receives_every_event_in_subscription_order() -> None:
    stream = EventStream(lambda: 1.0)
    order: list[str] = []
    recorder = Recorder()
    stream.subscribe(lambda event: order.append("first"))
    stream.subscribe(recorder)
    stream.subscribe(lambda event: order.append("last"))
    stream.emit("requeue", "n1", message_id="m1")
    stream.emit("requeue", "n2", message_id="m2")
    assert recorder.events == [Event(1.0, "requeue", "n1", {"message_id": "m1"}),
                               Event(1.0, "requeue", "n2", {"message_id": "m2"})]
    assert order == ["first", "last", "first", "last"]


def test_a_sink_object_is_kept_as_its_bound_call() -> None:
    stream = EventStream(lambda: 0.0)
    recorder = Recorder()
    stream.subscribe(recorder)
    stream.subscribe(print)  # a builtin is kept as it is
    kept = stream._sinks
    assert kept[0] == recorder.__call__ and getattr(kept[0], "__self__") is recorder
    assert kept[1] is print
    assert stream.active is True


def test_no_sink_no_event() -> None:
    stream = EventStream(lambda: 0.0)
    stream.emit("agent", None, agent="a@x", connected=True)
    assert stream.active is False and stream._sinks == []


def test_a_writer_gets_the_fields_in_subscription_order_among_sinks() -> None:
    now = 1.25
    stream = EventStream(lambda: now)
    order: list[str] = []
    writer = FieldRecorder(order)
    seen: list[Event] = []
    stream.subscribe(lambda event: order.append("first"))
    stream.subscribe(writer)
    stream.subscribe(seen.append)
    stream.emit("requeue", "n1", message_id="m1")
    assert order == ["first", "writer"]
    assert writer.fields == [tuple(event) for event in seen] == [(1.25, "requeue", "n1", {"message_id": "m1"})]
    assert writer.fields[0][0] is now and writer.fields[0][3] is seen[0].data  # the clock's object, the same dict
    assert stream._sinks[1] is writer


def test_the_base_writer_must_be_overridden() -> None:
    stream = EventStream(lambda: 0.0)
    stream.subscribe(EventWriter())
    with pytest.raises(NotImplementedError):
        stream.emit("agent", None, agent="a@x", connected=True)
