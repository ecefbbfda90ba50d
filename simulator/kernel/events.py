"""World events and the subscription mechanism sinks use to receive them.

An event is small and immutable: when it happened in virtual seconds, what kind it is,
the nonce it concerns (if any) and a few attributes. The world builds events only when
somebody listens, so a run without sinks pays nothing for them; a sink that is an
:class:`EventWriter` is given the fields, and no :class:`Event` is built for it.
"""

from __future__ import annotations

import functools
from types import FunctionType
from typing import Any, Callable, NamedTuple

import simpy
from mypy_extensions import mypyc_attr


class Event(NamedTuple):
    """One thing that happened in the world at virtual time ``time``."""

    time: float
    kind: str
    nonce: str | None
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready mapping with stable key order."""
        fields: Any = self  # by index, not through the field types (compiled, an int time would turn float)
        return {"t": fields[0], "kind": fields[1], "nonce": fields[2], **fields[3]}


_new_event = tuple.__new__  # skips the NamedTuple's Python-level __new__ on the hot path

#: A sink is any callable taking an event.
Sink = Callable[[Event], None]

#: Event kinds the world emits, with what their ``data`` carries.
KINDS: dict[str, str] = {
    "transition": "path, from (None at admission), to, and code for failures",
    "relay": "a frame reached the directory: sender, recipient, intent, origin, Shield decision/risk/flags",
    "bus_accepted": "the bus stored a message: message_id, sender, recipient, intent, priority",
    "attempt": "a bus delivery attempt settled: its number, delivered, http status, error code and text",
    "retry_scheduled": "retry_count, delay and next_retry_at of a queued bus row, and the code of the failure; "
                       "policy names a retry preset other than Beam's",
    "retry_budget_refused": "the pair's retry budget refused a bus retry, so the row is dead-lettered: sender, "
                            "recipient, retry_count, code of the last failure, balance",
    "breaker_rejected": "the pair's circuit breaker failed a bus attempt fast: sender, recipient, state",
    "breaker_transition": "a pair's circuit breaker changed state after a call (the nonce's): sender, recipient, "
                          "from, to, reason",
    "client_attempt": "a client's send (HTTP or WebSocket) settled an attempt: number, success, http status "
                      "(None: no answer) and code (CLIENT_TIMEOUT: the client stopped waiting; CIRCUIT_OPEN: "
                      "its breaker failed it fast)",
    "client_retry_scheduled": "a client will send the nonce again: retry_count (failed attempts so far), delay, "
                              "code of the failure, policy",
    "client_gave_up": "a client stopped retrying a send: reason (not_retryable, retries_exhausted, retry_budget), "
                      "attempts, code of the last failure",
    "client_retry_budget_refused": "the client pair's retry budget refused a retry, so the send gives up: sender, "
                                   "recipient, retry_count, code, balance",
    "client_breaker_rejected": "the client pair's circuit breaker failed an attempt fast: sender, recipient, state",
    "client_breaker_transition": "a client pair's circuit breaker changed state after a call (the nonce's): "
                                 "sender, recipient, from, to, reason",
    "send_rejected": "bus send refused before insert: http status and error code",
    "deduped": "bus send answered from an existing row with the same body",
    "requeue": "a dead-lettered or failed bus row sent again with its original nonce",
    "update_refused": "Beam's transition table refused a bus row update (an operator action raced an attempt): "
                      "where (send, requeue, worker), from, to",
    "relay_rejected": "directory refused a frame before any lifecycle row: code, http status",
    "nonce_claim": "directory nonce claim other than a fresh row: outcome",
    "agent_result": "an agent finished an intent: success, code, async acceptance",
    "agent": "an agent connected or disconnected",
    "restart": "a component restarted and recovered its rows",
    "forgotten": "retention compacted a finished row: path and final status",
    "relay_error": "a trace write threw (as-coded quirks): HTTP 500, the row keeps its status",
    "directory_down": "the directory process stopped: reason",
    "bus_down": "the bus process stopped (its store was destroyed)",
    "backup": "a backup of both stores was taken: id, label, directory_rows, bus_messages",
    "disaster": "both stores were destroyed while the processes ran; both are down",
    "lost_in_restore": "a restore dropped a row admitted after its backup: path and the row's status",
    "store_restored": "a store was replaced from a backup: path, its per-state counts, lost (all restores so far)",
    "restored": "both stores were restored from a backup and the processes booted: backup, lost",
    "fault_start": "a scheduled fault started: fault index, fault_kind, target",
    "fault_end": "a fault was reverted, or an instant fault's effect ended: fault index, fault_kind, target",
    "alert_fired": "an alert id started firing at an evaluation: id, severity, value",
    "alert_changed": "a firing alert changed severity: id, severity, previous, value",
    "alert_cleared": "a firing alert was no longer firing: id, and its last severity and value",
    "inbox_updated": "an inbox item's updatedAt was set: key, id, status, and by (created, alert read, upsert, "
                     "patch, sync)",
}


@mypyc_attr(allow_interpreted_subclasses=True)
class EventWriter:
    """A sink given an event's fields rather than an :class:`Event`: when every sink is
    one, the stream builds no event at all. Subclass it and override :meth:`write` (the
    JSON-lines encoder is one, :class:`~simulator.kernel.eventjson.EventEncoder`)."""

    def write(self, time: Any, kind: str, nonce: str | None, data: dict[str, Any]) -> None:
        """Take one event: the fields an :class:`Event` would hold, ``data`` kept as given."""
        raise NotImplementedError


class EventStream:
    """Fans events out to subscribed sinks, in subscription order."""

    __slots__ = ("_sinks", "_now", "active")

    def __init__(self, now: Callable[[], Any]) -> None:
        self._sinks: list[Sink | EventWriter] = []
        # Any, not float: compiled, a float result would be unboxed and boxed again per
        # event, and a writer could no longer tell an instant's time by its identity.
        self._now = now
        #: True when at least one sink listens; producers may skip building events otherwise.
        self.active = False

    def subscribe(self, sink: Sink | EventWriter) -> None:
        """Deliver every later event to ``sink``.

        ``sink`` is a callable taking an :class:`Event`, or an :class:`EventWriter` (kept as
        it is). An object whose class defines ``__call__`` in Python (a checker) is
        kept as its bound ``__call__``: calling the object itself goes through the type's
        call slot, about three times the cost of calling the bound method, once per event.
        """
        if not isinstance(sink, EventWriter) and isinstance(getattr(type(sink), "__call__", None), FunctionType):
            bound: Sink = getattr(sink, "__call__")
            sink = bound
        self._sinks.append(sink)
        self.active = True

    def emit(self, kind: str, nonce: str | None = None, /, **data: Any) -> None:
        """Build an event stamped with the current virtual time and deliver it."""
        if self._sinks:
            self.emit_data(kind, nonce, data)

    def emit_data(self, kind: str, nonce: str | None, data: dict[str, Any]) -> None:
        """Like :meth:`emit` with the attributes already in a dict (which the event keeps)."""
        sinks = self._sinks
        if sinks:
            time = self._now()
            event: Event | None = None
            for sink in sinks:
                if isinstance(sink, EventWriter):
                    sink.write(time, kind, nonce, data)
                else:
                    if event is None:
                        event = _new_event(Event, (time, kind, nonce, data))
                    sink(event)


def clock(env: simpy.Environment) -> Callable[[], float]:
    """``env.now`` as a callable for :class:`EventStream`, reading the ``_now`` SimPy's
    property returns without a Python call (a lambda costs a second call per event)."""
    return functools.partial(getattr, env, "_now")
