"""The span types exporters consume: :class:`SpanRecord`, and the compact form a
:class:`~simulator.telemetry.spans.SpanRecorder` builds it from.

A :class:`SpanRecord` is one finished span with its own attribute dict, what any exporter
can take. A :class:`SpanView` is the same span without building that dict: its attributes
are those of a :class:`SpanShape` shared by many spans (name, kind, fixed attributes),
then the pairs its whole trace shares, then its own few pairs. An encoder that knows the
compact form caches each shape's text once (:mod:`simulator.telemetry.otlpjson`).
"""

from __future__ import annotations

from typing import Iterator, Literal, NamedTuple

SpanKind = Literal["PRODUCER", "CONSUMER", "CLIENT", "INTERNAL"]
StatusCode = Literal["UNSET", "OK", "ERROR"]
AttributeValue = str | int | float | bool | list[str]
#: Attribute pairs, in order.
Pairs = tuple[tuple[str, AttributeValue], ...]


class SpanRecord(NamedTuple):
    """One finished span, ready for an exporter.

    Ids are lowercase hex (32 digits for the trace, 16 for spans); ``start`` and ``end``
    are virtual seconds; ``links`` are (trace id, span id) pairs; ``status_message`` is
    empty unless ``status`` is ERROR.
    """

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: SpanKind
    start: float
    end: float
    attributes: dict[str, AttributeValue]
    status: StatusCode
    status_message: str
    links: list[tuple[str, str]]


class SpanShape(NamedTuple):
    """What many spans share: name, kind and fixed attributes (one object per distinct set)."""

    name: str
    kind: SpanKind
    attributes: dict[str, AttributeValue]


class SpanView(NamedTuple):
    """A span in compact form. Its attributes are, in this order, the shape's, the trace's
    ``shared`` pairs (one tuple object for every span of a trace) and its ``own`` pairs;
    the three never share a key."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    shape: SpanShape
    start: float
    end: float
    shared: Pairs
    own: Pairs
    status: StatusCode
    status_message: str
    links: tuple[tuple[str, str], ...]

    def record(self) -> SpanRecord:
        """Return the span as a :class:`SpanRecord` (values are shared with the shape: read only)."""
        tid, sid, parent, shape, start, end, shared, own, status, message, links = self
        attributes = shape[2].copy()
        attributes.update(shared)
        if own:
            attributes.update(own)
        return _new(SpanRecord, (tid, sid, parent, shape[0], shape[1], start, end, attributes, status, message,
                                 list(links)))


_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__


class RecordedTraces(Iterator[list[SpanRecord]]):
    """Traces as lists of :class:`SpanRecord`, built one trace at a time from compact
    views; :meth:`views` hands the compact form itself to an encoder that can use it.
    Read one or the other, once."""

    def __init__(self, views: Iterator[list[SpanView]]) -> None:
        self._views = views

    def __next__(self) -> list[SpanRecord]:
        """Return the next trace's span records."""
        return [view.record() for view in next(self._views)]

    def views(self) -> Iterator[list[SpanView]]:
        """Return the remaining traces in compact form."""
        return self._views
