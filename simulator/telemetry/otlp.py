"""Kept traces out as OTLP: JSON Lines written by a plain encoder, or OTLP/HTTP protobuf
sent by the OpenTelemetry exporter.

Both take what :meth:`SpanRecorder.traces` yields (or any iterable of lists of
:class:`SpanRecord`), after the run, and group whole traces into batches of about
``batch`` spans: a trace is never split, one larger than ``batch`` goes alone. Timestamps
are ``epoch_ns + virtual seconds · 1e9`` rounded to the nanosecond, so a scenario's
``epoch_ns`` puts the spans at its wall-clock instant. The resource gets
``service.name=beamdrill`` unless it names a service; the instrumentation scope is
``beamdrill``.

:func:`write_otlp_jsonl` writes one ``ExportTraceServiceRequest`` per line with the plain
encoder of :mod:`simulator.telemetry.otlpjson`, the same text OpenTelemetry's
``FileSpanExporter`` writes. :func:`export_otlp_http` builds SDK ``ReadableSpan``
objects batch by batch (explicit times, the seeded ids in their ``SpanContext``, links,
status) and sends them with ``OTLPSpanExporter``, whose retries of a batch end within
``timeout`` seconds; a failed batch raises :class:`OtlpExportError` at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Iterable, Iterator, TextIO, TypeVar

from simulator.kernel.gctune import tuned_gc
from simulator.telemetry.otlpjson import SCOPE_NAME, OtlpJsonEncoder
from simulator.telemetry.records import RecordedTraces, SpanRecord, SpanView

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

_Span = TypeVar("_Span", SpanRecord, SpanView)


class OtlpExportError(RuntimeError):
    """An OTLP/HTTP export failed: endpoint unreachable, request refused, or timed out."""


def unix_nano(epoch_ns: int, seconds: float) -> int:
    """Return the Unix time in nanoseconds of virtual time ``seconds`` after ``epoch_ns``."""
    return epoch_ns + round(seconds * 1e9)


def with_service_name(resource: dict[str, str]) -> dict[str, str]:
    """Return ``resource`` with ``service.name`` set to ``beamdrill`` when it has none."""
    return resource if "service.name" in resource else {"service.name": SCOPE_NAME, **resource}


def batches(traces: Iterable[list[_Span]], batch: int) -> Iterator[list[_Span]]:
    """Group whole traces into lists of at most ``batch`` spans (a larger trace goes alone)."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1 span, not {batch}")
    current: list[_Span] = []
    for spans in traces:
        if current and len(current) + len(spans) > batch:
            yield current
            current = []
        current.extend(spans)
    if current:
        yield current


class OtlpJsonlWriter:
    """Streams compact traces (:class:`SpanView` lists) to ``stream`` as OTLP JSON Lines,
    whole traces per line of about ``batch`` spans; pass :meth:`add` as a
    :class:`~simulator.telemetry.spans.SpanRecorder`'s ``on_complete``."""

    def __init__(self, stream: TextIO, epoch_ns: int, resource: dict[str, str], batch: int = 512) -> None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1 span, not {batch}")
        self.stream = stream
        self.batch = batch
        self.written = 0
        self._encoder = OtlpJsonEncoder(epoch_ns, with_service_name(resource))
        self._pending: list[SpanView] = []

    def add(self, views: list[SpanView]) -> None:
        """Queue one trace; write a line when the batch is full."""
        if self._pending and len(self._pending) + len(views) > self.batch:
            self._flush()
        self._pending.extend(views)

    def _flush(self) -> None:
        if self._pending:
            self.stream.writelines(self._encoder.view_pieces(self._pending))
            self.written += len(self._pending)
            self._pending = []

    def close(self) -> int:
        """Write what is queued; return the number of spans written in all."""
        self._flush()
        return self.written


def write_otlp_jsonl(traces: Iterable[list[SpanRecord]], stream: TextIO, epoch_ns: int,
                     resource: dict[str, str], batch: int = 512) -> int:
    """Write ``traces`` to ``stream`` as OTLP JSON Lines; return the number of spans written.

    Each line is one ``ExportTraceServiceRequest`` (``resourceSpans`` → ``scopeSpans`` →
    ``spans``) of whole traces, about ``batch`` spans. Given a recorder's own
    :class:`RecordedTraces`, it encodes their compact form (same text, less work).
    """
    encoder = OtlpJsonEncoder(epoch_ns, with_service_name(resource))
    written = 0
    with tuned_gc():
        if isinstance(traces, RecordedTraces):
            for views in batches(traces.views(), batch):
                stream.writelines(encoder.view_pieces(views))
                written += len(views)
        else:
            for spans in batches(traces, batch):
                stream.write(encoder.request(spans))
                written += len(spans)
    return written


def sdk_resource_and_scope(resource: dict[str, str]) -> tuple[Resource, InstrumentationScope]:
    """The SDK ``Resource`` (exactly ``resource``, plus a default ``service.name``) and
    the ``beamdrill`` ``InstrumentationScope``."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    return Resource(with_service_name(resource)), InstrumentationScope(SCOPE_NAME)


def sdk_spans(spans: Iterable[SpanRecord], epoch_ns: int, resource: Resource,
              scope: InstrumentationScope) -> list[ReadableSpan]:
    """Build OpenTelemetry SDK ``ReadableSpan`` objects for ``spans``: the seeded ids in
    local, sampled ``SpanContext`` objects, explicit start and end times in nanoseconds."""
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

    kinds = {"INTERNAL": SpanKind.INTERNAL, "CLIENT": SpanKind.CLIENT, "PRODUCER": SpanKind.PRODUCER,
             "CONSUMER": SpanKind.CONSUMER, "SERVER": SpanKind.SERVER}
    flags = TraceFlags(TraceFlags.SAMPLED)
    out: list[ReadableSpan] = []
    for record in spans:
        trace = int(record.trace_id, 16)
        context = SpanContext(trace, int(record.span_id, 16), is_remote=False, trace_flags=flags)
        parent = (SpanContext(trace, int(record.parent_span_id, 16), is_remote=False, trace_flags=flags)
                  if record.parent_span_id else None)
        links = [Link(SpanContext(int(link_trace, 16), int(link_span, 16), is_remote=False, trace_flags=flags))
                 for link_trace, link_span in record.links]
        if record.status == "ERROR":
            status = Status(StatusCode.ERROR, record.status_message or None)
        else:
            status = Status(StatusCode.OK if record.status == "OK" else StatusCode.UNSET)
        out.append(ReadableSpan(
            name=record.name, context=context, parent=parent, resource=resource,
            attributes=record.attributes, events=(), links=links, kind=kinds[record.kind], status=status,
            start_time=unix_nano(epoch_ns, record.start), end_time=unix_nano(epoch_ns, record.end),
            instrumentation_scope=scope,
        ))
    return out


class _Messages(logging.Handler):
    """Keeps the exporter's own warnings and errors so a failure can say why."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record's message."""
        self.messages.append(record.getMessage())


def export_otlp_http(traces: Iterable[list[SpanRecord]], endpoint: str, epoch_ns: int,
                     resource: dict[str, str], batch: int = 512, timeout: float = 5.0) -> int:
    """Send ``traces`` to the OTLP/HTTP ``endpoint`` (the full URL, e.g.
    ``http://127.0.0.1:4318/v1/traces``) with OpenTelemetry's ``OTLPSpanExporter``;
    return the number of spans accepted.

    Each batch (about ``batch`` spans of whole traces) is one request; the exporter's
    retries of it end within ``timeout`` seconds. Raises :class:`OtlpExportError` on the
    first batch that fails, saying why and how many spans were accepted before it.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    sdk_resource, scope = sdk_resource_and_scope(resource)
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=timeout)
    messages = _Messages()
    logger = logging.getLogger("opentelemetry.exporter")
    logger.addHandler(messages)
    sent = 0
    try:
        with tuned_gc():
            for number, spans in enumerate(batches(traces, batch), 1):
                result = exporter.export(sdk_spans(spans, epoch_ns, sdk_resource, scope))
                if result is not SpanExportResult.SUCCESS:
                    reason = "; ".join(messages.messages[-2:]) or "no reason given"
                    raise OtlpExportError(f"OTLP/HTTP export to {endpoint} failed on batch {number} "
                                          f"({len(spans)} spans; {sent} spans accepted before it): {reason}")
                sent += len(spans)
    finally:
        logger.removeHandler(messages)
        exporter.shutdown()  # type: ignore[no-untyped-call]
    return sent
