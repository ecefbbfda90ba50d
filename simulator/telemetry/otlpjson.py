"""A plain OTLP JSON encoder for spans: the text OpenTelemetry's ``FileSpanExporter``
writes, without building SDK objects.

The OTLP JSON encoding is protobuf's JSON mapping with OTLP's exceptions: lowerCamelCase
field names, trace and span ids as lowercase hex (not base64), 64-bit integers
(``startTimeUnixNano``, ``intValue``) as decimal strings, enums as integers, fields at
their default value left out. Fields come in the order the official encoder writes them
(``traceId, spanId, parentSpanId, flags, name, kind, startTimeUnixNano,
endTimeUnixNano, attributes, links, status``), so for the same spans the two give the same
bytes (``tests/test_telemetry_traces.py`` checks it).

Speed comes from caching text: every key's ``{"key":…,"value":`` prefix, repeated string
and integer values, and for the compact :class:`SpanView` form, each shape's name, kind
and fixed attributes together with the span's own pairs, and each trace's shared pairs.
"""

from __future__ import annotations

import math
from json.encoder import encode_basestring_ascii as _json_string
from typing import Any, Final, Iterable, Sequence

from simulator.telemetry.records import Pairs, SpanRecord, SpanShape, SpanView

#: The instrumentation scope of every span beamdrill exports (no version: the caller may put
#: ``service.version`` in the resource; nothing here reads package metadata).
SCOPE_NAME: Final[str] = "beamdrill"
#: OTLP ``Span.SpanKind`` values.
SPAN_KINDS: Final[dict[str, int]] = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
#: OTLP ``Status.StatusCode`` values.
STATUS_CODES: Final[dict[str, int]] = {"UNSET": 0, "OK": 1, "ERROR": 2}
#: ``SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK``: the parent (or link target) is known to be local.
SPAN_FLAGS: Final[int] = 0x100
_CACHED_VALUES_PER_KEY: Final[int] = 4096
_CACHED_SKELETONS: Final[int] = 100_000
_CACHED_TIMES: Final[int] = 1024
#: Spans per piece of :meth:`OtlpJsonEncoder.view_pieces` (about 25 KB). A whole line of
#: 512 spans is about 400 KB, which the C allocator maps afresh for every line: written
#: whole, partner-day's 12 traced hours took 98,000 page faults, in pieces 29,000.
PIECE_SPANS: Final[int] = 32

#: A cached span skeleton: shape, status, message, then the text before the start time,
#: between the end time and the shared pairs, and after them.
_Skeleton = tuple[SpanShape, str, str, str, str, str]


def any_value(value: Any) -> str:
    """Return an OTLP ``AnyValue`` JSON object for a str, bool, int, float or sequence."""
    if isinstance(value, str):
        return f'{{"stringValue":{_json_string(value)}}}'
    if isinstance(value, bool):
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return f'{{"intValue":"{value}"}}'
    if isinstance(value, float):
        if math.isfinite(value):
            return f'{{"doubleValue":{value!r}}}'
        return '{"doubleValue":"NaN"}' if math.isnan(value) else (
            '{"doubleValue":"Infinity"}' if value > 0 else '{"doubleValue":"-Infinity"}')
    if isinstance(value, (list, tuple)):
        if not value:
            return '{"arrayValue":{}}'
        return '{"arrayValue":{"values":[' + ",".join(any_value(item) for item in value) + "]}}"
    raise TypeError(f"attribute values must be str, bool, int, float or a list of them, not {type(value).__name__}")


def _status(status: str, message: str) -> str:
    if status == "UNSET":
        return "{}"
    if status == "ERROR":
        return f'{{"message":{_json_string(message)},"code":2}}' if message else '{"code":2}'
    return '{"code":1}'


class OtlpJsonEncoder:
    """Encodes spans as OTLP JSON ``ExportTraceServiceRequest`` lines for one resource.

    ``epoch_ns`` is the Unix time in nanoseconds of virtual time 0.
    """

    def __init__(self, epoch_ns: int, resource: dict[str, str]) -> None:
        self.epoch_ns = epoch_ns
        self._keys: dict[str, str] = {}
        self._values: dict[str, dict[Any, str]] = {}
        self._names: dict[str, str] = {}
        self._skeletons: dict[int | tuple[int, Pairs], _Skeleton] = {}
        self._shared: Pairs = ()
        self._shared_json = ""
        self._times: dict[float, str] = {}
        attributes = self.pairs(resource.items())
        resource_json = f'{{"attributes":[{attributes}]}}' if attributes else "{}"
        self.head = (f'{{"resourceSpans":[{{"resource":{resource_json},"scopeSpans":[{{"scope":'
                     f'{{"name":{_json_string(SCOPE_NAME)}}},"spans":[')
        self.tail = "]}]}]}\n"

    def request(self, spans: Iterable[SpanRecord]) -> str:
        """Return one ``ExportTraceServiceRequest`` line holding ``spans``."""
        encode = self.span
        parts = [encode(span) for span in spans]
        return f'{self.head}{",".join(parts)}{self.tail}'

    def view_request(self, views: Sequence[SpanView]) -> str:
        """Return one ``ExportTraceServiceRequest`` line holding the compact spans ``views``."""
        return "".join(self.view_pieces(views))

    def view_pieces(self, views: Sequence[SpanView]) -> list[str]:
        """:meth:`view_request`'s line in pieces of :data:`PIECE_SPANS` spans, to be
        written one after the other."""
        view = self.view
        pieces = [self.head]
        for first in range(0, len(views), PIECE_SPANS):
            text = ",".join([view(span) for span in views[first:first + PIECE_SPANS]])
            pieces.append("," + text if first else text)
        pieces.append(self.tail)
        return pieces

    def span(self, span: SpanRecord) -> str:
        """Return one span as an OTLP JSON object."""
        tid, sid, parent, name, kind, start, end, attributes, status, message, links = span
        name_json = self._names.get(name)
        if name_json is None:
            name_json = self._names[name] = _json_string(name)
        epoch = self.epoch_ns
        parent_json = f',"parentSpanId":"{parent}"' if parent else ""
        attributes_json = ',"attributes":[' + self.pairs(attributes.items()) + "]" if attributes else ""
        links_json = (',"links":[' + ",".join(
            f'{{"traceId":"{link_trace}","spanId":"{link_span}","flags":{SPAN_FLAGS}}}'
            for link_trace, link_span in links) + "]") if links else ""
        return (f'{{"traceId":"{tid}","spanId":"{sid}"{parent_json},"flags":{SPAN_FLAGS},"name":{name_json},'
                f'"kind":{SPAN_KINDS[kind]},"startTimeUnixNano":"{epoch + round(start * 1e9)}",'
                f'"endTimeUnixNano":"{epoch + round(end * 1e9)}"{attributes_json}{links_json},'
                f'"status":{_status(status, message)}}}')

    def view(self, view: SpanView) -> str:
        """Return one compact span as an OTLP JSON object: the text :meth:`span` gives its record."""
        tid, sid, parent, shape, start, end, shared, own, status, message, links = view
        if links or not shared:
            return self.span(view.record())
        key = (id(shape), own) if own else id(shape)  # most spans have no pairs of their own
        try:
            skeleton = self._skeletons.get(key)
        except TypeError:  # an unhashable value among its own pairs
            return self.span(view.record())
        if skeleton is None or skeleton[0] is not shape or skeleton[1] != status or skeleton[2] != message:
            skeleton = self._skeleton(key, shape, own, status, message)
        if shared is not self._shared:
            self._shared = shared
            self._shared_json = self._unique_pairs(shared)
        times = self._times
        start_text = times.get(start)
        if start_text is None:
            start_text = self._time(start)
        end_text = times.get(end)
        if end_text is None:
            end_text = self._time(end)
        if parent:
            return (f'{{"traceId":"{tid}","spanId":"{sid}","parentSpanId":"{parent}"{skeleton[3]}{start_text}'
                    f'","endTimeUnixNano":"{end_text}"{skeleton[4]}{self._shared_json}{skeleton[5]}')
        return (f'{{"traceId":"{tid}","spanId":"{sid}"{skeleton[3]}{start_text}","endTimeUnixNano":"{end_text}"'
                f'{skeleton[4]}{self._shared_json}{skeleton[5]}')

    def _time(self, seconds: float) -> str:
        """The decimal Unix nanoseconds of virtual time ``seconds``, remembered for the next
        spans (the spans of a trace share most of their times; equal times, 0.0 and -0.0
        included, give the same text)."""
        times = self._times
        if len(times) >= _CACHED_TIMES:
            times.clear()
        text = times[seconds] = str(self.epoch_ns + round(seconds * 1e9))
        return text

    def _skeleton(self, key: int | tuple[int, Pairs], shape: SpanShape, own: Pairs, status: str,
                  message: str) -> _Skeleton:
        """The fixed text of spans with this shape, own pairs and status, kept under ``key``
        (the shape's id, and its own pairs if it has any: the skeleton holds the shape, so
        the id is not reused while the key is in use)."""
        if len(self._skeletons) >= _CACHED_SKELETONS:
            self._skeletons.clear()
        fixed = self.pairs(shape.attributes.items())
        mine = self.pairs(own)
        skeleton = (shape, status, message,
                    f',"flags":{SPAN_FLAGS},"name":{_json_string(shape.name)},"kind":{SPAN_KINDS[shape.kind]},'
                    f'"startTimeUnixNano":"',
                    ',"attributes":[' + (fixed + "," if fixed else ""),
                    ("," + mine if mine else "") + f'],"status":{_status(status, message)}}}')
        self._skeletons[key] = skeleton
        return skeleton

    def pairs(self, pairs: Iterable[tuple[str, Any]]) -> str:
        """Return the comma-separated OTLP ``KeyValue`` objects of ``pairs``."""
        values = self._values
        out = []
        for key, value in pairs:
            kind = type(value)
            if kind is str or kind is int:
                cache = values.get(key)
                if cache is None:
                    cache = values[key] = {}
                fragment = cache.get(value)
                if fragment is None:
                    fragment = self._pair(key, value)
                    if len(cache) < _CACHED_VALUES_PER_KEY:
                        cache[value] = fragment
            else:
                fragment = self._pair(key, value)
            out.append(fragment)
        return ",".join(out)

    def _unique_pairs(self, pairs: Pairs) -> str:
        """:meth:`pairs` for the pairs a trace shares (its nonce, its bus message id): values
        seen once, so not looked up in (or added to) the values' memo."""
        out = []
        for key, value in pairs:
            prefix = self._keys.get(key)
            if prefix is None or value.__class__ is not str:
                out.append(self._pair(key, value))
            else:
                out.append(f'{prefix}{{"stringValue":{_json_string(value)}}}}}')
        return ",".join(out)

    def _pair(self, key: str, value: Any) -> str:
        prefix = self._keys.get(key)
        if prefix is None:
            prefix = self._keys[key] = f'{{"key":{_json_string(key)},"value":'
        return f"{prefix}{any_value(value)}}}"
