"""One intent's recorded trace in compact form (:class:`NonceTrace`), and the span records
built from it after the run (:class:`SpanBuilder`).

While the world runs, :class:`~simulator.telemetry.spans.SpanRecorder` keeps a
:class:`NonceTrace` per nonce: a small record of the intent and one short list per span in
the layout below; no OpenTelemetry objects, no per-span dicts, no ids. :class:`SpanBuilder`
turns one into :class:`~simulator.telemetry.records.SpanView` records, the root first: it
derives the trace and span ids (SHA-256 digests, :mod:`~simulator.telemetry.ids`), shares
one :class:`~simulator.telemetry.records.SpanShape` among the spans of the same name, kind
and fixed attributes, gives a span with an error code ``error.type`` and status ERROR, and
ends a span still open at ``until`` with ``beam.unfinished=true``.
"""

from __future__ import annotations

from typing import Any, Final

from simulator.telemetry.ids import SeededIds
from simulator.telemetry.records import AttributeValue, Pairs, SpanKind, SpanShape, SpanView

# The span layout the recorder writes and the builder reads. A span is a list:
# [op, parent index, start, end, *fields of its op]; index 0 is the root.
START, END = 2, 3
CHECK, DELIVER, PROCESS, SETTLE = 1, 2, 3, 4
# check: Shield decision, risk, flags, error code, http status, nonce claim outcome
DECISION, RISK, FLAGS, C_CODE, C_HTTP, CLAIM = 4, 5, 6, 7, 8, 9
# deliver: attempt number, retry count, outcome, http status, error code, and only for an
# attempt a circuit breaker failed fast, the breaker's state
NUMBER, RETRIES, OUTCOME, D_HTTP, D_CODE, D_BREAKER = 4, 5, 6, 7, 8, 9
# process: error code, async acceptance, late result
P_CODE, ASYNC, LATE = 4, 5, 6
# settle: path, state, error code, linked span index, and only for a dead letter the retry
# budget caused, True
S_PATH, S_STATE, S_CODE, S_LINK, S_BUDGET = 4, 5, 6, 7, 8

_ERROR_STATES: Final[frozenset[str]] = frozenset({"failed", "dead_letter"})
#: error.type when a failure has no code (OpenTelemetry's fallback value).
OTHER_ERROR: Final[str] = "_OTHER"
#: error.type of a bus row dead-lettered because the pair's retry budget refused its retry.
RETRY_BUDGET_EXHAUSTED: Final[str] = "RETRY_BUDGET_EXHAUSTED"
#: Distinct span shapes interned at most (beyond, shapes are built per span).
_MAX_SHAPES: Final[int] = 65536
_ASYNC_OWN: Final[Pairs] = (("beam.async_accepted", True),)
_UNFINISHED: Final[tuple[str, bool]] = ("beam.unfinished", True)
_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__


class NonceTrace:
    """What the recorder holds for one nonce while the run goes on: ``owner`` is the intent's
    own path (``bus`` or ``directory``), ``spans`` its spans in the layout above."""

    __slots__ = ("owner", "sender", "recipient", "intent", "message_id", "origin", "start", "answered",
                 "state", "code", "retries", "requeues", "attempts", "spans", "deliver", "process", "check",
                 "accepted", "trace_id", "client")

    def __init__(self, owner: str, sender: str, recipient: str, intent: str, message_id: str | None,
                 origin: str | None, start: float, tid: str | None) -> None:
        self.owner = owner
        self.sender = sender
        self.recipient = recipient
        self.intent = intent
        self.message_id = message_id
        self.origin = origin
        self.start = start
        self.answered: float | None = None
        self.state: str | None = None
        self.code: str | None = None
        self.retries = 0
        self.requeues = 0
        self.attempts = 0
        self.spans: list[list[Any]] = []
        self.deliver = 0  # index of the newest span of each kind (0: none yet)
        self.process = 0
        self.check = 0
        self.accepted = 0  # index of the process span of an async acceptance
        self.trace_id = tid
        #: What the sender's retrying client did, when it has one: [attempts, retries,
        #: why it gave up, the breaker state that failed an attempt fast] (None: no client).
        self.client: list[Any] | None = None


class SpanBuilder:
    """Builds the spans of recorded traces; ids derive from the world's root ``seed``.
    Span shapes are shared across every trace it builds."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._ids = SeededIds(seed)
        self._shapes: dict[tuple[Any, ...], SpanShape] = {}

    def _shape(self, key: tuple[Any, ...], name: str, kind: SpanKind,
               attributes: dict[str, AttributeValue]) -> SpanShape:
        shape = self._shapes.get(key)
        if shape is None:
            shape = SpanShape(name, kind, attributes)
            if len(self._shapes) < _MAX_SHAPES:
                self._shapes[key] = shape
        return shape

    def build(self, nonce: str, trace: NonceTrace, until: float) -> list[SpanView]:
        """The spans of ``nonce``'s trace in compact form, the root first; spans still open
        end at ``until``."""
        spans = trace.spans
        tid, ids = self._ids.ids(nonce, len(spans) + 1, trace.trace_id)
        recipient = trace.recipient
        shapes = self._shapes
        mid = trace.message_id
        shared: Pairs = ((("messaging.message.id", nonce),) if mid is None
                         else (("messaging.message.id", nonce), ("beam.message_id", mid)))

        key: tuple[Any, ...] = ("send", trace.owner, recipient, trace.sender, trace.intent, trace.origin)
        shape = shapes.get(key) or self._shape(key, f"send {recipient}", "PRODUCER", _root_attributes(trace))
        state, code = trace.state, trace.code
        failed = state in _ERROR_STATES or (state is None and code is not None)
        own: Any = [("beam.lifecycle.status", state or ("rejected" if code else "unknown")),
                    ("beam.retry_count", trace.retries)]
        if trace.requeues:
            own.append(("beam.requeue_count", trace.requeues))
        client = trace.client
        if client is not None:
            own += [("beam.client.attempts", client[0]), ("beam.client.retry_count", client[1])]
            if client[2] is not None:
                own.append(("beam.client.gave_up", client[2]))
            if client[3] is not None:
                own.append(("beam.client.circuit_breaker.state", client[3]))
        error = (code or OTHER_ERROR) if failed else None
        if error is not None:
            own.append(("error.type", error))
        end = trace.answered
        if end is None:
            own.append(_UNFINISHED)
            end = max(until, trace.start)
        views = [_new(SpanView, (tid, ids[0], None, shape, trace.start, end, shared, tuple(own),
                                 "UNSET" if error is None else "ERROR", error or "", ()))]

        for index, span in enumerate(spans, 1):
            op = span[0]
            if op == PROCESS:
                key = ("process", recipient)
                shape = shapes.get(key) or self._shape(key, f"process {recipient}", "CONSUMER",
                                                       _operation_attributes(recipient, "process", "process"))
                error = span[P_CODE]
                own = _ASYNC_OWN if span[ASYNC] else ()
                if span[LATE]:
                    own += (("beam.late_result", True),)
            elif op == CHECK:
                key = ("check", recipient, span[DECISION], span[RISK], tuple(span[FLAGS] or ()))
                shape = shapes.get(key) or self._shape(key, f"check {recipient}", "INTERNAL",
                                                       _check_attributes(recipient, span))
                error = span[C_CODE]
                own = ()
                if span[CLAIM] is not None:
                    own += (("beam.nonce_claim", span[CLAIM]),)
                if span[C_HTTP] is not None:
                    own += (("http.response.status_code", span[C_HTTP]),)
            elif op == SETTLE:
                key = ("settle", recipient, span[S_PATH], span[S_STATE])
                shape = shapes.get(key) or self._shape(key, f"settle {recipient}", "INTERNAL", {
                    **_operation_attributes(recipient, "settle", "settle"),
                    "beam.path": span[S_PATH], "beam.lifecycle.status": span[S_STATE]})
                error = span[S_CODE]
                own = (("beam.retry_budget.refused", True),) if len(span) > S_BUDGET else ()
            else:
                key = ("deliver", recipient)
                shape = shapes.get(key) or self._shape(key, f"deliver {recipient}", "CLIENT",
                                                       _operation_attributes(recipient, "send", "deliver"))
                error = span[D_CODE]
                own = (("beam.attempt", span[NUMBER]), ("beam.retry_count", span[RETRIES]))
                if span[OUTCOME] is not None:
                    own += (("beam.attempt.outcome", span[OUTCOME]),)
                if span[D_HTTP] is not None:
                    own += (("http.response.status_code", span[D_HTTP]),)
                if len(span) > D_BREAKER:
                    own += (("beam.circuit_breaker.state", span[D_BREAKER]),)
            if error is not None:
                own += (("error.type", error),)
            start, end = span[START], span[END]
            if end is None:
                own += (_UNFINISHED,)
                end = max(until, start)
            links = ((tid, ids[span[S_LINK]]),) if op == SETTLE and span[S_LINK] else ()
            views.append(_new(SpanView, (tid, ids[index], ids[span[1]], shape, start, end, shared, own,
                                         "UNSET" if error is None else "ERROR", error or "", links)))
        return views



def _root_attributes(trace: NonceTrace) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {
        **_operation_attributes(trace.recipient, "send", "send"),
        "beam.sender": trace.sender, "beam.intent": trace.intent, "beam.path": trace.owner}
    if trace.origin is not None:
        attributes["beam.origin"] = trace.origin
    return attributes


def _operation_attributes(recipient: str, operation_type: str, operation_name: str) -> dict[str, AttributeValue]:
    return {"messaging.system": "beam", "messaging.operation.type": operation_type,
            "messaging.operation.name": operation_name, "messaging.destination.name": recipient}


def _check_attributes(recipient: str, span: list[Any]) -> dict[str, AttributeValue]:
    attributes: dict[str, AttributeValue] = {"messaging.system": "beam", "messaging.destination.name": recipient}
    if span[DECISION] is not None:
        attributes["beam.shield.decision"] = span[DECISION]
        attributes["beam.shield.risk"] = span[RISK]
        attributes["beam.shield.flags"] = list(span[FLAGS] or ())
    return attributes
