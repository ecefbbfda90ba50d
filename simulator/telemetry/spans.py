"""Spans of every intent, recorded compactly from the event stream and built after the run.

:class:`SpanRecorder` is a sink (``world.subscribe(recorder)``). While the world runs it
keeps, per nonce, one small record of the intent and one short list per span: no
OpenTelemetry objects, no per-span dicts, no ids (ids are SHA-256 digests, derived only
for the traces that are written). After the run, :meth:`SpanRecorder.traces` yields each
kept trace as a list of :class:`SpanRecord`, the root first, traces in first-seen order.

One trace per nonce, named per the OpenTelemetry messaging conventions
(``"{messaging.operation.name} {destination}"``):

- ``send {recipient}`` (PRODUCER, the root): from the sender's send (``bus_accepted``, or
  the first directory ``relay``) until the sender got its answer (the first bus
  ``attempt`` event; the directory's relay outcome: refusal, cached answer, thrown error
  or the row's first final transition). ``beam.path`` is the intent's own path (``bus``
  for a bus message, whose attempts also relay through the directory with the same
  nonce); ``beam.lifecycle.status`` its final state on that path; ``beam.retry_count``
  the bus row's retry count, or for a directory intent how often a resend of its nonce
  re-entered the lifecycle. Status ERROR when that final state is ``failed`` or
  ``dead_letter``, or the relay was refused before any lifecycle row
  (``beam.lifecycle.status`` is then ``rejected``).
- ``check {recipient}`` (INTERNAL): one per directory relay, zero-length, with the Shield
  decision, risk and flags, and ``error.type`` when the relay was refused.
- ``deliver {recipient}`` (CLIENT): one per bus attempt, from ``dispatched`` to the
  ``attempt`` event; its outcome is the bus transition that follows. An attempt cut
  short by a bus restart ends at the recovery with ``error.type=BUS_RESTART``.
- ``process {recipient}`` (CONSUMER): a delivery to the agent, directory ``delivered`` to
  ``agent_result`` (or to the row leaving ``delivered``, e.g. a timeout).
- ``settle {recipient}`` (INTERNAL): zero-length, at each final transition (acked, failed,
  dead_letter) of the intent's own path. A bus ack after an asynchronous acceptance links
  to the ``process`` span of that acceptance.

``check`` and ``process`` spans are children of the attempt's ``deliver`` span on the bus
path and of the root on the directory path; ``deliver`` and ``settle`` spans are children
of the root. A span still open when :meth:`~SpanRecorder.traces` runs ends at ``until``
(default: the last event seen) and carries ``beam.unfinished=true``. Not traced: bus sends
refused before a row existed (``send_rejected``: no message, often no nonce) and dedupes.

What is kept in memory (:meth:`SpanRecorder.held` counts it):

- ``all``: every intent's record and spans until the recorder is dropped: about 0.7 KB
  per intent (a trace of four spans), measured with tracemalloc on ``partner-day`` and
  bounded in ``tests/test_telemetry_traces.py``. A whole day of partner traffic
  (about 900,000 intents) in ``all`` mode is therefore about 600 MB: sample long runs.
- ``failed``: the records of intents still in flight (they may yet fail), plus every
  intent kept. An intent is dropped, and its records freed at once, when its own path
  reaches ``acked``: no transition leaves ``acked`` in either table, so it can never be
  kept. A dropped directory nonce is remembered (one set entry) until the directory
  forgets its row (``forgotten``), so a late resend of the nonce does not start a
  bogus trace; with ``retention.finished_rows: null`` the world keeps every row and this
  set grows with it. Bus messages left ``delivered`` (never acked by their recipient)
  are not acked, so they are kept.
- ``sampled:F``: only the sampled intents' records; the decision is made when the nonce
  is first seen, from its trace id, and nothing is held for the others.

With ``on_complete``, a trace is handed over (in compact form) and freed as soon as the
world forgets the intent's own row (``forgotten``): after that nothing can change it. A
writer streams those traces during the run, so memory is bounded by the world's retention
horizon in every mode; :meth:`~SpanRecorder.traces` then yields only the rest.
"""

from __future__ import annotations

from typing import Any, Callable, Final

from simulator.kernel.events import Event
from simulator.telemetry.ids import span_ids, trace_id
from simulator.telemetry.records import (
    AttributeValue,
    Pairs,
    RecordedTraces,
    SpanKind,
    SpanRecord,
    SpanShape,
    SpanView,
)
from simulator.telemetry.sampling import ALL, Sampling, in_sample, ratio_bound

__all__ = ["SpanRecord", "SpanRecorder", "RecordedTraces"]

# A span is a list: [op, parent index, start, end, *fields of its op]; index 0 is the root.
_START, _END = 2, 3
_CHECK, _DELIVER, _PROCESS, _SETTLE = 1, 2, 3, 4
# check: Shield decision, risk, flags, error code, http status, nonce claim outcome
_DECISION, _RISK, _FLAGS, _C_CODE, _C_HTTP, _CLAIM = 4, 5, 6, 7, 8, 9
# deliver: attempt number, retry count, outcome, http status, error code
_NUMBER, _RETRIES, _OUTCOME, _D_HTTP, _D_CODE = 4, 5, 6, 7, 8
# process: error code, async acceptance, late result
_P_CODE, _ASYNC, _LATE = 4, 5, 6
# settle: path, state, error code, linked span index
_S_PATH, _S_STATE, _S_CODE, _S_LINK = 4, 5, 6, 7

_BUS: Final[str] = "bus"
_DIRECTORY: Final[str] = "directory"
_FINAL: Final[frozenset[str]] = frozenset({"acked", "failed", "dead_letter"})
_ERROR_STATES: Final[frozenset[str]] = frozenset({"failed", "dead_letter"})
#: error.type when a failure has no code (OpenTelemetry's fallback value).
OTHER_ERROR: Final[str] = "_OTHER"
#: error.type of a bus attempt cut short by a bus restart (no ``attempt`` event came).
BUS_RESTART: Final[str] = "BUS_RESTART"
#: Distinct span shapes interned at most (beyond, shapes are built per span).
_MAX_SHAPES: Final[int] = 65536
_ASYNC_OWN: Final[Pairs] = (("beam.async_accepted", True),)
_UNFINISHED: Final[tuple[str, bool]] = ("beam.unfinished", True)
_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__


class _Trace:
    """What the recorder holds for one nonce while the run goes on."""

    __slots__ = ("owner", "sender", "recipient", "intent", "message_id", "origin", "start", "answered",
                 "state", "code", "retries", "requeues", "attempts", "spans", "deliver", "process", "check",
                 "accepted", "trace_id")

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


class SpanRecorder:
    """A sink recording compact per-nonce spans during a run; :meth:`traces` builds them after.

    ``seed`` is the world's root seed (ids derive from it); ``sampling`` chooses which
    intents are kept (see the module docstring for what each mode holds in memory).
    """

    def __init__(self, seed: int, sampling: Sampling = ALL,
                 on_complete: Callable[[list[SpanView]], None] | None = None) -> None:
        self.seed = seed
        self.sampling = sampling
        self.on_complete = on_complete
        self._live: dict[str, _Trace] = {}
        self._dropped: set[str] = set()
        self._drop_acked = sampling.mode == "failed"
        self._bound = ratio_bound(sampling.fraction) if sampling.mode == "sampled" else None
        self._last = 0.0
        self._shapes: dict[tuple[Any, ...], SpanShape] = {}

    # -- recording (the hot path) ------------------------------------------------------

    def __call__(self, event: Event) -> None:
        """Record ``event`` into its nonce's trace."""
        time, kind, nonce, data = event
        if nonce is None:
            return
        self._last = time
        trace = self._live.get(nonce)
        if trace is None:
            if kind == "relay" or kind == "bus_accepted":
                trace = self._open(nonce, kind, time, data)
                if trace is None:
                    return
            else:
                if kind == "forgotten" and self._dropped and data["path"] == _DIRECTORY:
                    self._dropped.discard(nonce)
                return
        if kind == "transition":
            to = data["to"]
            path = data["path"]
            previous = data["from"]
            if path == _DIRECTORY:
                if previous == "delivered" and trace.process:
                    span = trace.spans[trace.process - 1]
                    if span[_END] is None:
                        span[_END] = time
                        if to == "failed":
                            span[_P_CODE] = data.get("code") or OTHER_ERROR
                if to == "delivered":
                    spans = trace.spans
                    parent = trace.deliver if trace.owner is _BUS else 0
                    spans.append([_PROCESS, parent, time, None, None, False, False])
                    trace.process = len(spans)
            elif previous == "dispatched" and trace.deliver:
                span = trace.spans[trace.deliver - 1]
                span[_OUTCOME] = to
                if span[_END] is None:  # no attempt event: a bus restart recovered the row
                    span[_END] = time
                    span[_D_CODE] = BUS_RESTART
            if path != trace.owner:
                return
            trace.state = to
            if to in _FINAL:
                self._settle(nonce, trace, time, path, previous, to, data)
            elif to == "dispatched" and path == _BUS:
                trace.attempts += 1
                spans = trace.spans
                spans.append([_DELIVER, 0, time, None, trace.attempts, trace.retries, None, None, None])
                trace.deliver = len(spans)
        elif kind == "relay":
            spans = trace.spans
            parent = trace.deliver if trace.owner is _BUS else 0
            shield = data["shield"]
            if shield is None:
                spans.append([_CHECK, parent, time, time, None, None, None, None, None, None])
            else:
                spans.append([_CHECK, parent, time, time, shield["decision"], shield["risk"],
                              shield["flags"] or None, None, None, None])
            trace.check = len(spans)
        elif kind == "agent_result":
            if trace.process:
                span = trace.spans[trace.process - 1]
                if data["late"]:
                    span[_LATE] = True
                elif span[_END] is None:
                    span[_END] = time
                    if not data["success"]:
                        span[_P_CODE] = data["code"] or "RESULT_ERROR"
                    elif data["accepted_async"]:
                        span[_ASYNC] = True
                        trace.accepted = trace.process
        elif kind == "attempt":
            if trace.deliver:
                span = trace.spans[trace.deliver - 1]
                span[_END] = time
                span[_NUMBER] = data["number"]
                span[_D_HTTP] = data["http_status"]
                if not data["delivered"]:
                    span[_D_CODE] = data["code"] or OTHER_ERROR
            if trace.answered is None:
                trace.answered = time
        elif kind == "retry_scheduled":
            trace.retries = data["retry_count"]
        elif kind == "relay_rejected":
            self._refused(trace, time, data["code"], data["http_status"])
        elif kind == "nonce_claim":
            outcome = data["outcome"]
            if trace.check:
                trace.spans[trace.check - 1][_CLAIM] = outcome
            if trace.owner is _DIRECTORY:
                if outcome == "reset":  # the sender resent the nonce and it re-entered the lifecycle
                    trace.retries += 1
                elif outcome == "cached" and trace.answered is None:
                    trace.answered = time
        elif kind == "relay_error":
            self._refused(trace, time, "RELAY_ERROR", 500)
        elif kind == "requeue":
            trace.retries = 0
            trace.requeues += 1
        elif kind == "forgotten" and self.on_complete is not None and data["path"] == trace.owner:
            # The world forgot the intent's own row: nothing more can happen to this trace.
            del self._live[nonce]
            self.on_complete(self._views(nonce, trace, time))

    def _open(self, nonce: str, kind: str, time: float, data: dict[str, Any]) -> _Trace | None:
        """Start the trace of a nonce seen for the first time, or None if it is not kept."""
        if self._dropped and kind == "relay" and nonce in self._dropped:
            return None  # a resend of a directory intent dropped as acked
        tid = None
        if self._bound is not None:
            tid = trace_id(self.seed, nonce)
            if not in_sample(tid, self._bound):
                return None
        if kind == "bus_accepted":
            trace = _Trace(_BUS, data["sender"], data["recipient"], data["intent"], data["message_id"],
                           None, time, tid)
        else:
            trace = _Trace(_DIRECTORY, data["sender"], data["recipient"], data["intent"], None,
                           data["origin"], time, tid)
        self._live[nonce] = trace
        return trace

    def _refused(self, trace: _Trace, time: float, code: str, http_status: int) -> None:
        """The last relay was refused or threw: note it on its check span, and answer a
        directory sender."""
        if trace.check:
            span = trace.spans[trace.check - 1]
            span[_C_CODE] = code
            span[_C_HTTP] = http_status
        if trace.owner is _DIRECTORY:
            if trace.answered is None:
                trace.answered = time
            if trace.state is None:
                trace.code = code

    def _settle(self, nonce: str, trace: _Trace, time: float, path: str, previous: str | None, to: str,
                data: dict[str, Any]) -> None:
        """A final transition on the intent's own path: a settle span, or drop the intent."""
        if to == "acked" and self._drop_acked:
            del self._live[nonce]
            if path == _DIRECTORY:
                self._dropped.add(nonce)
            return
        code: str | None = None
        link = 0
        if path == _DIRECTORY:
            if trace.answered is None:
                trace.answered = time
            if to != "acked":
                code = data.get("code") or OTHER_ERROR
        else:
            if to == "dead_letter":
                code = (trace.spans[trace.deliver - 1][_D_CODE] if trace.deliver else None) or OTHER_ERROR
            elif to == "failed":
                code = OTHER_ERROR  # an operator's ack with status failed carries no code
            if previous == "delivered":
                link = trace.accepted
        trace.code = code
        trace.spans.append([_SETTLE, 0, time, time, path, to, code, link])

    # -- after the run -----------------------------------------------------------------

    def held(self) -> dict[str, int]:
        """What the recorder holds now: traces, spans, and dropped nonces it remembers."""
        return {"traces": len(self._live), "spans": sum(len(t.spans) + 1 for t in self._live.values()),
                "dropped_nonces": len(self._dropped)}

    def traces(self, until: float | None = None) -> RecordedTraces:
        """Return an iterator over each kept trace's spans (root first), traces in first-seen order.

        Spans still open end at ``until`` (default: the time of the last event seen) and
        carry ``beam.unfinished=true``. The recorder is not consumed: call it again to
        export the same traces twice.
        """
        end = self._last if until is None else until
        return RecordedTraces(self._views(nonce, trace, end) for nonce, trace in list(self._live.items()))

    def _shape(self, key: tuple[Any, ...], name: str, kind: SpanKind,
               attributes: dict[str, AttributeValue]) -> SpanShape:
        shape = self._shapes.get(key)
        if shape is None:
            shape = SpanShape(name, kind, attributes)
            if len(self._shapes) < _MAX_SHAPES:
                self._shapes[key] = shape
        return shape

    def _views(self, nonce: str, trace: _Trace, until: float) -> list[SpanView]:
        """Build one trace's spans in compact form."""
        spans = trace.spans
        tid = trace.trace_id or trace_id(self.seed, nonce)
        ids = span_ids(self.seed, nonce, len(spans) + 1)
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
            if op == _PROCESS:
                key = ("process", recipient)
                shape = shapes.get(key) or self._shape(key, f"process {recipient}", "CONSUMER",
                                                       _operation_attributes(recipient, "process", "process"))
                error = span[_P_CODE]
                own = _ASYNC_OWN if span[_ASYNC] else ()
                if span[_LATE]:
                    own += (("beam.late_result", True),)
            elif op == _CHECK:
                key = ("check", recipient, span[_DECISION], span[_RISK], tuple(span[_FLAGS] or ()))
                shape = shapes.get(key) or self._shape(key, f"check {recipient}", "INTERNAL",
                                                       _check_attributes(recipient, span))
                error = span[_C_CODE]
                own = ()
                if span[_CLAIM] is not None:
                    own += (("beam.nonce_claim", span[_CLAIM]),)
                if span[_C_HTTP] is not None:
                    own += (("http.response.status_code", span[_C_HTTP]),)
            elif op == _SETTLE:
                key = ("settle", recipient, span[_S_PATH], span[_S_STATE])
                shape = shapes.get(key) or self._shape(key, f"settle {recipient}", "INTERNAL", {
                    **_operation_attributes(recipient, "settle", "settle"),
                    "beam.path": span[_S_PATH], "beam.lifecycle.status": span[_S_STATE]})
                error = span[_S_CODE]
                own = ()
            else:
                key = ("deliver", recipient)
                shape = shapes.get(key) or self._shape(key, f"deliver {recipient}", "CLIENT",
                                                       _operation_attributes(recipient, "send", "deliver"))
                error = span[_D_CODE]
                own = (("beam.attempt", span[_NUMBER]), ("beam.retry_count", span[_RETRIES]))
                if span[_OUTCOME] is not None:
                    own += (("beam.attempt.outcome", span[_OUTCOME]),)
                if span[_D_HTTP] is not None:
                    own += (("http.response.status_code", span[_D_HTTP]),)
            if error is not None:
                own += (("error.type", error),)
            start, end = span[_START], span[_END]
            if end is None:
                own += (_UNFINISHED,)
                end = max(until, start)
            links = ((tid, ids[span[_S_LINK]]),) if op == _SETTLE and span[_S_LINK] else ()
            views.append(_new(SpanView, (tid, ids[index], ids[span[1]], shape, start, end, shared, own,
                                         "UNSET" if error is None else "ERROR", error or "", links)))
        return views


def _root_attributes(trace: _Trace) -> dict[str, AttributeValue]:
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
    if span[_DECISION] is not None:
        attributes["beam.shield.decision"] = span[_DECISION]
        attributes["beam.shield.risk"] = span[_RISK]
        attributes["beam.shield.flags"] = list(span[_FLAGS] or ())
    return attributes
