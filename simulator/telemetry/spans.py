"""Spans of every intent, recorded compactly from the event stream and built after the run.

:class:`SpanRecorder` is a sink (``world.subscribe(recorder)``): it turns the events of
each nonce into that intent's trace. While the world runs it keeps, per nonce, a compact
:class:`~simulator.telemetry.spanbuild.NonceTrace`: no OpenTelemetry objects, no per-span
dicts, no ids (ids are SHA-256 digests, derived only for the traces that are written).
After the run, :meth:`SpanRecorder.traces` yields each kept trace as a list of span
records built by :class:`~simulator.telemetry.spanbuild.SpanBuilder`, the root first,
traces in first-seen order.

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
  (``beam.lifecycle.status`` is then ``rejected``). A directory intent whose sender
  retries as a client (``client_*`` events) also carries ``beam.client.attempts``,
  ``beam.client.retry_count``, ``beam.client.gave_up`` (why it stopped) and
  ``beam.client.circuit_breaker.state`` (when its breaker failed an attempt fast).
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

from simulator.kernel.events import Event, EventWriter
from simulator.telemetry.records import RecordedTraces, SpanRecord, SpanView
from simulator.telemetry.sampling import ALL, Sampling, in_sample, ratio_bound
from simulator.telemetry.ids import trace_id
from simulator.telemetry.spanbuild import (
    ASYNC,
    C_CODE,
    C_HTTP,
    CHECK,
    CLAIM,
    D_CODE,
    D_HTTP,
    DELIVER,
    END,
    LATE,
    NUMBER,
    OTHER_ERROR,
    OUTCOME,
    P_CODE,
    PROCESS,
    RETRY_BUDGET_EXHAUSTED,
    SETTLE,
    NonceTrace,
    SpanBuilder,
)

__all__ = ["SpanRecord", "SpanRecorder", "RecordedTraces"]

_BUS: Final[str] = "bus"
_DIRECTORY: Final[str] = "directory"
_FINAL: Final[frozenset[str]] = frozenset({"acked", "failed", "dead_letter"})
#: error.type of a bus attempt cut short by a bus restart (no ``attempt`` event came).
BUS_RESTART: Final[str] = "BUS_RESTART"


class SpanRecorder(EventWriter):
    """A sink recording compact per-nonce spans during a run; :meth:`traces` builds them after.

    ``seed`` is the world's root seed (ids derive from it); ``sampling`` chooses which
    intents are kept (see the module docstring for what each mode holds in memory).
    """

    def __init__(self, seed: int, sampling: Sampling = ALL,
                 on_complete: Callable[[list[SpanView]], None] | None = None) -> None:
        self.seed = seed
        self.sampling = sampling
        self.on_complete = on_complete
        self._live: dict[str, NonceTrace] = {}
        self._dropped: set[str] = set()
        self._drop_acked = sampling.mode == "failed"
        self._bound = ratio_bound(sampling.fraction) if sampling.mode == "sampled" else None
        self._last = 0.0
        self._builder = SpanBuilder(seed)
        #: Nonces whose retry the bus's retry budget just refused (their dead letter follows).
        self._budget_refused: set[str] = set()

    # -- recording (the hot path) ------------------------------------------------------

    def __call__(self, event: Event) -> None:
        """Record ``event`` into its nonce's trace."""
        self.write(event[0], event[1], event[2], event[3])

    def write(self, time: Any, kind: str, nonce: str | None, data: dict[str, Any]) -> None:
        """Record an event, given its fields, into its nonce's trace (subscribed to a
        stream, the recorder is a writer: the stream builds no event for it)."""
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
                    if span[END] is None:
                        span[END] = time
                        if to == "failed":
                            span[P_CODE] = data.get("code") or OTHER_ERROR
                if to == "delivered":
                    spans = trace.spans
                    parent = trace.deliver if trace.owner is _BUS else 0
                    spans.append([PROCESS, parent, time, None, None, False, False])
                    trace.process = len(spans)
            elif previous == "dispatched" and trace.deliver:
                span = trace.spans[trace.deliver - 1]
                span[OUTCOME] = to
                if span[END] is None:  # no attempt event: a bus restart recovered the row
                    span[END] = time
                    span[D_CODE] = BUS_RESTART
            if path != trace.owner:
                return
            trace.state = to
            if to in _FINAL:
                self._settle(nonce, trace, time, path, previous, to, data)
            elif to == "dispatched" and path == _BUS:
                trace.attempts += 1
                spans = trace.spans
                spans.append([DELIVER, 0, time, None, trace.attempts, trace.retries, None, None, None])
                trace.deliver = len(spans)
        elif kind == "forgotten":
            if self.on_complete is not None and data["path"] == trace.owner:
                # The world forgot the intent's own row: nothing more can happen to this trace.
                del self._live[nonce]
                self.on_complete(self._builder.build(nonce, trace, time))
        elif kind == "relay":
            spans = trace.spans
            parent = trace.deliver if trace.owner is _BUS else 0
            shield = data["shield"]
            if shield is None:
                spans.append([CHECK, parent, time, time, None, None, None, None, None, None])
            else:
                spans.append([CHECK, parent, time, time, shield["decision"], shield["risk"],
                              shield["flags"] or None, None, None, None])
            trace.check = len(spans)
        elif kind == "agent_result":
            if trace.process:
                span = trace.spans[trace.process - 1]
                if data["late"]:
                    span[LATE] = True
                elif span[END] is None:
                    span[END] = time
                    if not data["success"]:
                        span[P_CODE] = data["code"] or "RESULT_ERROR"
                    elif data["accepted_async"]:
                        span[ASYNC] = True
                        trace.accepted = trace.process
        elif kind == "attempt":
            if trace.deliver:
                span = trace.spans[trace.deliver - 1]
                span[END] = time
                span[NUMBER] = data["number"]
                span[D_HTTP] = data["http_status"]
                if not data["delivered"]:
                    span[D_CODE] = data["code"] or OTHER_ERROR
            if trace.answered is None:
                trace.answered = time
        elif kind == "retry_scheduled":
            trace.retries = data["retry_count"]
        elif kind == "relay_rejected":
            self._refused(trace, time, data["code"], data["http_status"])
        elif kind == "nonce_claim":
            outcome = data["outcome"]
            if trace.check:
                trace.spans[trace.check - 1][CLAIM] = outcome
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
        elif kind == "breaker_rejected":
            if trace.deliver:
                trace.spans[trace.deliver - 1].append(data["state"])  # read as D_BREAKER
        elif kind == "retry_budget_refused":
            self._budget_refused.add(nonce)
        elif kind.startswith("client_"):
            _client(trace, kind, data)

    def _open(self, nonce: str, kind: str, time: float, data: dict[str, Any]) -> NonceTrace | None:
        """Start the trace of a nonce seen for the first time, or None if it is not kept."""
        if self._dropped and kind == "relay" and nonce in self._dropped:
            return None  # a resend of a directory intent dropped as acked
        tid = None
        if self._bound is not None:
            tid = trace_id(self.seed, nonce)
            if not in_sample(tid, self._bound):
                return None
        if kind == "bus_accepted":
            trace = NonceTrace(_BUS, data["sender"], data["recipient"], data["intent"], data["message_id"],
                           None, time, tid)
        else:
            trace = NonceTrace(_DIRECTORY, data["sender"], data["recipient"], data["intent"], None,
                           data["origin"], time, tid)
        self._live[nonce] = trace
        return trace

    def _refused(self, trace: NonceTrace, time: float, code: str, http_status: int) -> None:
        """The last relay was refused or threw: note it on its check span, and answer a
        directory sender."""
        if trace.check:
            span = trace.spans[trace.check - 1]
            span[C_CODE] = code
            span[C_HTTP] = http_status
        if trace.owner is _DIRECTORY:
            if trace.answered is None:
                trace.answered = time
            if trace.state is None:
                trace.code = code

    def _settle(self, nonce: str, trace: NonceTrace, time: float, path: str, previous: str | None, to: str,
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
                if self._budget_refused and nonce in self._budget_refused:
                    self._budget_refused.discard(nonce)
                    trace.code = RETRY_BUDGET_EXHAUSTED
                    trace.spans.append([SETTLE, 0, time, time, path, to, RETRY_BUDGET_EXHAUSTED, 0, True])
                    return
                code = (trace.spans[trace.deliver - 1][D_CODE] if trace.deliver else None) or OTHER_ERROR
            elif to == "failed":
                code = OTHER_ERROR  # an operator's ack with status failed carries no code
            if previous == "delivered":
                link = trace.accepted
        trace.code = code
        trace.spans.append([SETTLE, 0, time, time, path, to, code, link])

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
        return RecordedTraces(self._builder.build(nonce, trace, end) for nonce, trace in list(self._live.items()))


def _client(trace: NonceTrace, kind: str, data: dict[str, Any]) -> None:
    """Record what the sender's retrying client did into the root span's attributes:
    ``beam.client.attempts``, ``beam.client.retry_count``, ``beam.client.gave_up`` (why)
    and ``beam.client.circuit_breaker.state`` (of an attempt its breaker failed fast)."""
    client = trace.client
    if client is None:
        client = trace.client = [0, 0, None, None]
    if kind == "client_attempt":
        client[0] = data["number"]
    elif kind == "client_retry_scheduled":
        client[1] += 1
    elif kind == "client_gave_up":
        client[2] = data["reason"]
    elif kind == "client_breaker_rejected":
        client[3] = data["state"]
