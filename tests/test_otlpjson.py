"""The compact span path of the OTLP JSON encoder (simulator/telemetry/otlpjson) and the
seeded ids (simulator/telemetry/ids): the same text and ids as the plain, generic code
they shortcut, for generated spans, times, pairs and nonces.

The generic path (:meth:`OtlpJsonEncoder.span` of each view's record) is itself checked
against OpenTelemetry's own file exporter in ``test_telemetry_traces.py``."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.telemetry.ids import SeededIds, span_ids, trace_id
from simulator.telemetry.otlpjson import PIECE_SPANS, OtlpJsonEncoder
from simulator.telemetry.records import SpanShape, SpanView

EPOCH_NS = 1_775_203_200_000_000_000
TRICKY = ["", '"', "\\", "a\"b\\c", "\x00\x1f\x7f", "é", "日本", "😀", "\u2028"]
strings = st.one_of(st.sampled_from(TRICKY), st.text(max_size=6))
#: Times as the recorder has them: floats (equal ones, zeros of both signs, large ones), ints.
times = st.one_of(st.sampled_from([0.0, -0.0, 0, 1, 1.0, 0.5, 1e-9, 4e-10, 86399.999999999, 1e6 + 0.1]),
                  st.floats(0, 1e7, allow_nan=False), st.integers(0, 10**6))
hex16 = st.text("0123456789abcdef", min_size=16, max_size=16)
#: Own pairs with one value type per key, as the span builder writes them.
OWN_KEYS: dict[str, Any] = {"beam.lifecycle.status": strings, "beam.retry_count": st.integers(0, 10),
                            "error.type": strings, "beam.unfinished": st.just(True),
                            "http.response.status_code": st.sampled_from([200, 404, 500]),
                            "beam.risk": st.floats(allow_nan=False), "beam.flags": st.lists(strings, max_size=2)}
own_pairs = st.lists(st.sampled_from(sorted(OWN_KEYS)), max_size=4, unique=True).flatmap(
    lambda keys: st.tuples(*[st.tuples(st.just(key), OWN_KEYS[key]) for key in keys]))
attribute_values = st.one_of(strings, st.integers(-5, 5), st.booleans(), st.floats(allow_nan=False),
                             st.lists(strings, max_size=2))
shapes = st.builds(SpanShape, st.text(max_size=8).map(lambda text: f"send {text}"),
                   st.sampled_from(["PRODUCER", "CONSUMER", "CLIENT", "INTERNAL"]),
                   st.dictionaries(st.sampled_from(["messaging.system", "beam.path", "beam.shield.risk", "x"]),
                                   attribute_values, max_size=3))


@st.composite
def traces(draw: st.DrawFn) -> list[list[SpanView]]:
    """Traces of compact spans drawn from a few shapes, each trace sharing one pairs tuple."""
    pool = draw(st.lists(shapes, min_size=1, max_size=3))
    out = []
    for _ in range(draw(st.integers(1, 4))):
        tid = draw(st.text("0123456789abcdef", min_size=32, max_size=32))
        shared = tuple(draw(st.lists(st.tuples(st.sampled_from(["messaging.message.id", "beam.message_id"]),
                                               st.one_of(strings, st.integers(0, 3))),
                                     max_size=2, unique_by=lambda pair: pair[0])))
        spans = []
        for index in range(draw(st.integers(1, 5))):
            status = draw(st.sampled_from(["UNSET", "ERROR", "OK"]))
            message = draw(strings) if status == "ERROR" else ""
            links = tuple(draw(st.lists(st.tuples(st.just(tid), hex16), max_size=1)))
            spans.append(SpanView(tid, draw(hex16), None if index == 0 else draw(hex16), draw(st.sampled_from(pool)),
                                  draw(times), draw(times), shared, draw(own_pairs), status, message, links))
        out.append(spans)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(traces(), min_size=1, max_size=3))
def test_compact_spans_encode_as_their_records_do(batches: list[list[list[SpanView]]]) -> None:
    fast, generic = OtlpJsonEncoder(EPOCH_NS, {"service.name": "beamdrill"}), OtlpJsonEncoder(EPOCH_NS, {})
    for batch in batches:  # one encoder for all batches: its memos carry over, as in a run
        views = [view for trace in batch for view in trace]
        assert fast.view_request(views) == fast.request([view.record() for view in views])
        assert fast.view_request(views) == generic.request([view.record() for view in views]).replace(
            generic.head, fast.head)


def test_a_request_written_in_pieces_is_the_request_line() -> None:
    """Pieces of at most PIECE_SPANS spans, the head and tail apart, joined: the same line."""
    encoder = OtlpJsonEncoder(EPOCH_NS, {})
    shape = SpanShape("send b@x", "PRODUCER", {"beam.path": "bus"})
    for count in (0, 1, PIECE_SPANS - 1, PIECE_SPANS, PIECE_SPANS + 1, 2 * PIECE_SPANS + 1):
        views = [SpanView(f"{index:032x}", f"{index:016x}", None, shape, index * 0.5, index * 0.5 + 0.25,
                          (("messaging.message.id", f"n-{index}"),), (), "UNSET", "", ())
                 for index in range(count)]
        pieces = encoder.view_pieces(views)
        assert "".join(pieces) == encoder.request([view.record() for view in views])
        assert (pieces[0], pieces[-1]) == (encoder.head, encoder.tail)
        assert [piece.count('"traceId"') for piece in pieces[1:-1]] == [
            min(PIECE_SPANS, count - first) for first in range(0, count, PIECE_SPANS)]


@settings(max_examples=300, deadline=None)
@given(st.integers(-10**20, 10**20), st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
       st.integers(0, 13), st.booleans())
def test_seeded_ids_are_trace_id_and_span_ids(seed: int, nonce: str, count: int, known: bool) -> None:
    ids = SeededIds(seed)
    given_trace = trace_id(seed, nonce) if known else None
    assert ids.ids(nonce, count, given_trace) == (trace_id(seed, nonce), span_ids(seed, nonce, count))
    assert ids.trace(nonce) == trace_id(seed, nonce)
