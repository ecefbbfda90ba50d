"""The event encoder (simulator/kernel/eventjson) and the JSON text of values
(simulator/kernel/jsontext): byte for byte what ``json.dumps(event.to_json(),
separators=(",", ":"))`` writes, for generated events of every kind and for whole runs."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drills.runs.files import EventLog
from simulator import load_scenario
from simulator.kernel.eventjson import EventEncoder, encode_event
from simulator.kernel.events import KINDS, Event, EventStream
from simulator.kernel.jsontext import json_value
from simulator.world import World

ROOT = Path(__file__).resolve().parent.parent

#: The key orders the world's producers write, per kind (grep ``emit`` in simulator/).
PRODUCER_KEYS: dict[str, list[tuple[str, ...]]] = {
    "transition": [("path", "from", "to"), ("path", "from", "to", "code"), ("path", "from", "to", "code", "forced")],
    "relay": [("sender", "recipient", "intent", "origin", "shield")],
    "bus_accepted": [("message_id", "sender", "recipient", "intent", "priority")],
    "attempt": [("number", "delivered", "http_status", "code", "error")],
    "retry_scheduled": [("retry_count", "delay", "next_retry_at", "code")],
    "send_rejected": [("http_status", "code")],
    "deduped": [("status",)],
    "requeue": [("message_id",)],
    "relay_rejected": [("code", "http_status", "error_code")],
    "nonce_claim": [("outcome", "status")],
    "agent_result": [("success", "code", "late"), ("success", "code", "accepted_async", "late")],
    "agent": [("agent", "connected")],
    "restart": [("component", "recovered"), ("component", "failed", "resumed", "timed_out")],
    "forgotten": [("path", "status")],
    "relay_error": [("status", "trace")],
    "directory_down": [("reason",)],
    "fault_start": [("fault", "fault_kind", "target")],
    "fault_end": [("fault", "fault_kind", "target")],
    "alert_fired": [("id", "severity", "value")],
    "alert_changed": [("id", "severity", "value", "previous")],
    "alert_cleared": [("id", "severity", "value")],
    "inbox_updated": [("key", "id", "status", "by")],
}

TRICKY = ["", '"', "\\", '\\"', "a\"b\\c", "\x00\x01\x1f\x7f", "\n\r\t\b\f", "é", "ü€", "日本語", "\u2028\u2029",
          "\ud800", "\udfff", "😀", "}],[", '},{"t":', "null", "1"]
strings = st.one_of(st.sampled_from(TRICKY), st.text(st.characters(exclude_categories=())), st.text(max_size=4))
floats = st.one_of(st.floats(), st.sampled_from([0.0, -0.0, 1e-320, 5e-324, 1.7976931348623157e308, 1e16, 1e-7,
                                                 0.1, 1.0, -1.5, math.inf, -math.inf, math.nan]))
ints = st.one_of(st.integers(), st.integers(-2, 2), st.just(10**30))
#: Values equal across types (1 == 1.0 == True, 0.0 == -0.0): no memo may give one another's text.
ALIKE = [0, 0.0, -0.0, False, 1, 1.0, True, None, "1", "", 2.5, [], {}, (1,), (True,), (1.0,), (0.0,), (-0.0,), [0],
         [False], {"a": 1}, {"a": True}]
alike = st.sampled_from(ALIKE)
scalars = st.one_of(st.none(), st.booleans(), ints, floats, strings)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.tuples(inner, inner),
                                                       st.dictionaries(strings, inner, max_size=3),
                                                       st.dictionaries(st.one_of(ints, st.booleans(), st.none()),
                                                                       inner, max_size=2)),
                      max_leaves=6)
#: Values the world writes (strings, None, bools, ints, floats, a Shield object, a list of flags).
shield = st.fixed_dictionaries({"decision": strings, "risk": floats, "flags": st.lists(strings, max_size=3)})
field_values = st.one_of(scalars, scalars, alike, shield, values)


@st.composite
def events(draw: st.DrawFn) -> Event:
    """An event of any kind the world emits, with its producers' keys or other ones."""
    kind = draw(st.one_of(st.sampled_from(sorted(KINDS)), strings))
    variants = PRODUCER_KEYS.get(kind, [])
    if variants and draw(st.integers(0, 9)):
        keys: list[Any] = list(draw(st.sampled_from(variants)))
        if not draw(st.integers(0, 19)):
            keys = draw(st.permutations(keys))
    else:
        keys = draw(st.lists(st.one_of(strings, st.sampled_from(["t", "kind", "nonce", "path"]), ints,
                                       st.booleans(), st.none(), floats), max_size=5, unique_by=repr))
    data = {key: draw(field_values) for key in keys}
    time = draw(st.one_of(floats, floats, alike, st.integers(0, 10**6)))
    nonce = draw(st.one_of(st.none(), strings, st.sampled_from(["9f2c0e1a6b7d4c3e8a5f0b1d2c3e4f5a"])))
    return Event(time, kind, nonce, data)


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    """Events in a row, some sharing the previous event's ``t`` or nonce object (the
    encoder reuses their texts) or its kind and keys with other values."""
    out: list[Event] = []
    for event in draw(st.lists(events(), min_size=1, max_size=12)):
        if out and draw(st.booleans()):
            previous = out[-1]
            event = Event(previous.time if draw(st.booleans()) else event.time, previous.kind,
                          previous.nonce if draw(st.booleans()) else event.nonce,
                          {key: draw(st.one_of(alike, field_values)) for key in previous.data})
        out.append(event)
    return out


def allowed(event: Event) -> str | None:
    """The reference line, or None where json.dumps itself refuses the event."""
    try:
        return encode_event(event)
    except (TypeError, ValueError):
        return None


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streams())
def test_encoder_writes_what_json_dumps_writes_for_any_events(stream: list[Event]) -> None:
    encoder = EventEncoder()
    for event in stream:
        expected = allowed(event)
        if expected is None:
            with pytest.raises((TypeError, ValueError)):
                encoder.line(event)
        else:
            assert encoder.line(event) == expected


@settings(max_examples=400, deadline=None)
@given(values)
def test_json_value_is_json_dumps(value: Any) -> None:
    try:
        expected = json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError):
        with pytest.raises((TypeError, ValueError)):
            json_value(value)
    else:
        assert json_value(value) == expected


#: Scalars a memo could mix up, and tuples of them.
LOOKALIKE = st.sampled_from([0, 0.0, -0.0, False, 1, 1.0, True, None, "1", (1,), (True,), (0.0,), (-0.0,), ["1"],
                             [], [1], [True], [1.0], ("1",), 2.5])


@st.composite
def lookalike_rows(draw: st.DrawFn) -> list[tuple[Any, Any]]:
    """Rows of two values from a small pool of look-alikes, so that rows repeat and differ
    only in a value that equals another one of another type."""
    pool = st.sampled_from(draw(st.lists(LOOKALIKE, min_size=1, max_size=4)))
    return draw(st.lists(st.tuples(pool, pool), min_size=2, max_size=24))


@settings(max_examples=400, deadline=None)
@given(lookalike_rows(), st.booleans())
def test_memoised_texts_never_mix_up_equal_values_of_other_types(rows: list[tuple[Any, Any]], nested: bool) -> None:
    encoder = EventEncoder()
    for first, second in rows:
        data = {"a": first, "b": second}
        event = Event(first, "transition", "n", {"x": "1", "y": data} if nested else data)
        assert encoder.line(event) == encode_event(event)


def test_every_lookalike_after_every_other_gets_its_own_text() -> None:
    """Exhaustively: a schema first seen with value ``first`` (which decides how its memo
    key is made), then ``second`` and ``third`` at the same place."""
    values = [0, 0.0, -0.0, False, 1, 1.0, True, None, "1", (1,), (True,), (0.0,), (-0.0,), ["1"], [], [1],
              [True], [1.0], [0.0], [-0.0], ("1",), 2.5, {"a": 0.0}, {"a": -0.0}]
    for first in values:
        for second in values:
            for nested in (False, True):
                encoder = EventEncoder()
                for value in (first, second, *values):
                    data = {"a": value, "b": "x"}
                    event = Event(1.0, "k", "n", {"y": data} if nested else data)
                    assert encoder.line(event) == encode_event(event), (first, second, value)


def test_equal_values_of_other_types_never_share_a_text() -> None:
    """Memoised tails and floats are keyed by values: 1 == 1.0 == True and 0.0 == -0.0."""
    encoder = EventEncoder()
    path = "directory"
    for code in ["X", None, "X", True, 1, 1.0, 0.0, -0.0, 0, False, "1", None, 1.0, True]:
        for to in ("failed", 1, True):
            event = Event(1.0, "transition", "n", {"path": path, "from": "queued", "to": to, "code": code})
            assert encoder.line(event) == encode_event(event)
    for t in (1, 1.0, True, 0.0, -0.0, 0, 2.5, 2.5):
        event = Event(t, "forgotten", "n", {"path": "bus", "status": "acked"})
        assert encoder.line(event) == encode_event(event)


def test_only_data_clashing_with_the_head_or_with_odd_keys_is_written_by_json_dumps() -> None:
    """Keys in another order are walked like any others; a key ``t``, ``kind`` or ``nonce``
    (which ``to_json`` lets override the head) or a key that is not a string is not."""
    encoder = EventEncoder()
    first = Event(1.0, "nonce_claim", "n", {"outcome": "cached", "status": "acked"})
    swapped = Event(1.0, "nonce_claim", "n", {"status": "acked", "outcome": "cached"})
    clash = Event(2.0, "odd", None, {"kind": "other", "t": 3})
    numbered = Event(2.0, "odd", None, {"a": 1, 2: "b"})
    for event in (first, swapped, clash, first, numbered, swapped):
        assert encoder.line(event) == encode_event(event)
    assert encoder.fallbacks == 2


def test_a_whole_run_is_written_by_the_walk_alone(tmp_path: Path) -> None:
    """Every producer in the world writes string keys: the first hours of partner-incident
    (faults, restarts, dead letters, alerts, inbox) fall back to json.dumps for no event,
    and the event log is exactly the reference lines."""
    world = World(load_scenario(ROOT / "scenarios" / "partner-incident.yaml"), seed=3)
    encoder = EventEncoder()
    seen: list[Event] = []
    log = EventLog(tmp_path / "events.jsonl")
    world.subscribe(seen.append)
    world.subscribe(log.sink)
    out = io.StringIO()
    world.subscribe(lambda event: out.write(encoder.line(event)))
    world.run(until=3 * 3600)
    log.close()
    assert encoder.fallbacks == 0
    expected = "".join(encode_event(event) for event in seen)
    assert out.getvalue() == expected
    assert (tmp_path / "events.jsonl").read_text(encoding="utf-8") == expected
    assert log.count == len(seen) and {event.kind for event in seen} >= {"transition", "relay", "agent_result"}


def test_an_encoder_subscribed_as_a_writer_hands_over_whole_batches_of_lines() -> None:
    """Given fields by the stream, the encoder writes the lines of every ``batch`` events
    to ``flush`` and keeps the rest for :meth:`take`; an event whose data it cannot walk
    (a key ``t``) is json.dumps's line in its place."""
    flushed: list[str] = []
    encoder = EventEncoder(flushed.append, batch=3)
    stream = EventStream(lambda: 2.5)
    seen: list[Event] = []
    stream.subscribe(encoder)
    stream.subscribe(seen.append)
    for number in range(7):
        stream.emit("attempt", f"n{number}", number=number, delivered=number % 2 == 0)
    stream.emit("odd", None, t=1)
    lines = [encode_event(event) for event in seen]
    assert flushed == ["".join(lines[0:3]), "".join(lines[3:6])]
    assert encoder.take() == "".join(lines[6:]) and encoder.take() == ""
    assert (encoder.count, encoder.fallbacks) == (8, 1)


def test_an_event_json_cannot_encode_raises_and_leaves_no_part_of_its_line() -> None:
    """The error is json.dumps's own; the lines before it are whole, and the encoder goes on."""
    encoder = EventEncoder()
    good = Event(1.0, "agent", None, {"agent": "a@x", "connected": True})
    bad = Event(2.0, "agent", "n1", {"agent": "a@x", "connected": {1, 2}})
    encoder.write(*good)
    with pytest.raises(TypeError, match="not JSON serializable"):
        encoder.write(*bad)
    encoder.write(*good)
    assert encoder.take() == encode_event(good) * 2
    assert encoder.count == 2
