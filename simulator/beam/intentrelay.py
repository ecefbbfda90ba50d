"""The directory's intent relay on virtual time (beam-model §3.2–§3.4, Beam's
``relayIntentFromHttp``): the security layers, nonce claims, routing to agents, result
waits and timeouts, and the as-coded trace quirks (§3.9).

Types that travel through the relay live in :mod:`simulator.beam.relay`; the checks in Beam's
order live in :mod:`simulator.beam.security`; the process the relay runs in, which stops and
boots again with recovery (§3.10), is :class:`~simulator.beam.directory.Directory`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable, Final, cast

import simpy

from simulator.beam.agents import Agent, AgentResult, Reply, WorkObserver
from simulator.kernel.events import EventStream
from simulator.kernel.lifecycle import Ledger, is_allowed
from simulator.beam.links import Links
from simulator.beam.relay import (
    NO_RESPONSE,
    Answer,
    DirectoryObserver,
    Frame,
    IntentRow,
    Origin,
    RelayOutcome,
    relay_http,
)
from simulator.kernel.retention import Retention
from simulator.beam.security import Refusal, Security

ECHO_AGENT: Final[str] = "echo@beam.directory"
STALE_PENDING_RETRY_WINDOW: Final[float] = 120.0
RETRYABLE_INTENT_ERRORS: Final[frozenset[str]] = frozenset(
    {"OFFLINE", "TIMEOUT", "DELIVERY_FAILED", "DIRECT_HTTP_FAILED"}
)
#: What a sender gets while the directory process is down, or when it stops mid-wait.
CONNECTION_REFUSED: Final[RelayOutcome] = RelayOutcome(NO_RESPONSE, False, "DELIVERY_FAILED", "CONNECTION_REFUSED")
_new_outcome = tuple.__new__  # skips the NamedTuple's Python-level __new__ on the hot path
_THROWN = RelayOutcome(500, False, "RELAY_ERROR", "RELAY_ERROR", error="Failed to relay intent")

def echo_payload(intent: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The built-in echo responder's result payload (Beam's ``buildPublicEchoResult``)."""
    if intent == "conversation.message":
        message = payload.get("message")
        text = message.strip() if isinstance(message, str) else ""
        return {"message": f"Echo: {text or 'Hello from Beam.'}", "from": ECHO_AGENT, "handledBy": "builtin-echo"}
    return {"ok": True, "beamId": ECHO_AGENT, "handledBy": ECHO_AGENT, "transport": "builtin-echo", "intent": intent,
            "message": f"Mock success for {intent}", "originalPayload": payload}


#: What an agent hands back with its answer: the row, its generation, the directory's epoch.
Ticket = tuple[IntentRow, int, int]


class IntentRelay(ABC):
    """The relay and its ``intent_log`` rows. The process it runs in (``up``; ``epoch``,
    how often it stopped) is the :class:`~simulator.beam.directory.Directory`, which
    implements :meth:`stop`."""

    def __init__(
        self,
        env: simpy.Environment,
        events: EventStream,
        agents: dict[str, Agent],
        security: Security,
        links: Links,
        quirks: dict[str, bool],
        http_result_timeout: float = 60.0,
        ws_result_timeout: float = 30.0,
        retention: float | None = None,
    ) -> None:
        self.env = env
        self.events = events
        self.agents = agents
        self.security = security
        self.links = links
        self.raw_resets = quirks["retry_trace_guard"]
        self.skewed_received = quirks["clock_skew_trace"]
        self.late_result_crash = quirks["late_result_crash"]
        self.trace_checks = self.raw_resets or self.skewed_received
        self.timeouts: dict[str, float] = {"http": http_result_timeout, "ws": ws_result_timeout}
        self.ledger = Ledger("directory", None)
        self.rows: dict[str, IntentRow] = {}
        self.retention = Retention(env, events, "directory", retention, self.rows, ("acked", "failed"),
                                   lambda row: security.shield.forget(row.nonce))
        self.failures_by_code: dict[str, int] = {}
        self.rejections_by_code: dict[str, int] = {}
        self.claims: dict[str, int] = {"cached": 0, "in_progress": 0, "reset": 0}
        self.late_results = 0
        self.thrown = 0
        self.up = True
        self.epoch = 0
        #: Rows a boot resumed in ``delivered`` with no live waiter (§3.10); a resend that
        #: resets one ends that.
        self.resumed: set[IntentRow] = set()
        self._trace_seq = 0
        #: Called with the seconds from `delivered` to the agent's result of every intent an
        #: agent's answer settles (0 for the echo agent); a telemetry hook, None when unused.
        self.on_result_latency: Callable[[float], None] | None = None
        #: Told of Shield rows and of intent_log rows inserted, reset and finalised (the
        #: facts alerts read, :mod:`simulator.operator.factstore`); None when unused.
        self.observer: DirectoryObserver | None = None
        #: Told when the echo agent, which the directory answers for itself, handles an
        #: intent (agents tell their own :attr:`Agent.observer`); None when unused.
        self.echo_observer: WorkObserver | None = None
        self._reply: Reply = self._on_result  # bound once: an agent is handed it per intent

    def watch(self) -> None:
        """Start emitting transition events (call after sinks subscribe)."""
        self.ledger.hook = self._on_transition

    def _on_transition(self, nonce: str, previous: str | None, next: str, forced: bool) -> None:
        code = None
        if next == "failed":
            row = self.rows.get(nonce)
            code = row.error_code if row is not None else None
        data: dict[str, Any] = {"path": "directory", "from": previous, "to": next, "code": code}
        if forced:
            data["forced"] = True
        self.events.emit_data("transition", nonce, data)

    # -- relay -------------------------------------------------------------------------

    def relay(self, frame: Frame, origin: Origin, client_ip: str | None = None) -> simpy.Event:
        """Relay ``frame`` and return an event that triggers with its :class:`RelayOutcome`."""
        done = self.env.event()
        self.submit(frame, origin, done.succeed, client_ip)
        return done

    def submit(self, frame: Frame, origin: Origin, done: Answer | None = None,
               client_ip: str | None = None) -> None:
        """Relay ``frame``; call ``done`` with the outcome once known (None: nobody waits).

        ``client_ip`` is the address an HTTP send comes from (None: no proxy header).
        """
        if not self.up:
            if done is not None:
                done(CONNECTION_REFUSED)
            return
        observer = self.observer
        now = self.env.now
        if observer is not None:  # the row Shield holds for the nonce, which a new row replaces
            previous = self.security.shield.latest.get(frame.nonce)
        refusal, shield_row = self.security.screen(now, frame, origin, client_ip, frame.recipient in self.agents)
        if observer is not None and shield_row is not None:
            observer.screened(shield_row, previous)
        if self.events.active:
            self.events.emit("relay", frame.nonce, sender=frame.sender, recipient=frame.recipient,
                             intent=frame.intent, origin=origin,
                             shield=None if shield_row is None else {
                                 "decision": shield_row.decision, "risk": shield_row.risk,
                                 "flags": list(shield_row.flags)})
        if refusal is not None:
            self._reject(frame, refusal, done)
            return
        row = self.rows.get(frame.nonce)
        if row is None:
            row = self.rows[frame.nonce] = IntentRow(frame, origin, now)
            if self.trace_checks:
                self.ledger.admit(row)
                self._stage(row, "received", frame.timestamp if self.skewed_received else None)
                self._stage(row, "validated")
                self.ledger.move(row, "validated")
            else:
                self.ledger.admit(row, then="validated")
            if observer is not None:
                observer.admitted(row)
        else:
            row = self._claim(row, frame, origin, done)
            if row is None:
                return
        row.shield = shield_row
        self._route(row, done)

    def _reject(self, frame: Frame, refusal: Refusal, done: Answer | None) -> None:
        code = refusal.relay_code
        self.rejections_by_code[code] = self.rejections_by_code.get(code, 0) + 1
        if self.events.active:
            self.events.emit("relay_rejected", frame.nonce, code=code, http_status=refusal.http_status,
                             error_code=refusal.error_code)
        if done is not None:
            done(RelayOutcome(refusal.http_status, False, refusal.error_code, code, retry_after=refusal.retry_after,
                              error=refusal.message))

    def _claim(self, row: IntentRow, frame: Frame, origin: Origin, done: Answer | None) -> IntentRow | None:
        """Apply the nonce claim rules (§3.3) to a known nonce; return the row to route
        again, or None when the frame was answered without routing."""
        now = self.env.now
        if (row.sender, row.recipient, row.intent) != (frame.sender, frame.recipient, frame.intent):
            self._reject(frame, Refusal(400, "INVALID_INTENT", "BAD_REQUEST", message=(
                f"Nonce {frame.nonce} was already used for a different intent")), done)
            return None
        status = row.status
        if status == "acked" or (status == "failed" and row.error_code not in RETRYABLE_INTENT_ERRORS):
            self.claims["cached"] += 1
            self.events.emit("nonce_claim", frame.nonce, outcome="cached", status=status)
            if done is not None:
                payload = row.result.payload if row.result is not None else None
                done(RelayOutcome(200, status == "acked", row.error_code, None, payload, cached=True))
            return None
        if status not in ("failed", "dead_letter") and now - row.requested_at <= STALE_PENDING_RETRY_WINDOW:
            self.claims["in_progress"] += 1
            self._reject(frame, Refusal(409, "IN_PROGRESS", "IN_PROGRESS", message=(
                f"Intent with nonce {frame.nonce} is already being processed")), done)
            return None
        self.claims["reset"] += 1
        self.events.emit("nonce_claim", frame.nonce, outcome="reset", status=status)
        row.generation += 1
        row.origin = origin
        row.error_code = None
        row.result = None
        row.finished_at = row.delivered_at = None
        self.resumed.discard(row)
        if self.raw_resets:
            # As coded (§3.9/1): a raw update back to `received`, then the trace write of
            # `received` is judged against the newest trace stage and usually throws.
            row.requested_at = frame.timestamp
            self.ledger.force(row, "received")
            if self.observer is not None:
                self.observer.reopened(row)
            if not self._stage(row, "received", frame.timestamp if self.skewed_received else None):
                self._throw(row, done)
                return None
            self._stage(row, "validated")
            self.ledger.move(row, "validated")
            return row
        # As documented, the retry works: the row re-enters through `queued`, the retry edge.
        row.requested_at = now
        if self.observer is not None:
            self.observer.reopened(row)
        self._stage(row, "queued")
        self.ledger.move(row, "queued")
        return row

    def _stage(self, row: IntentRow, stage: str, timestamp: float | None = None) -> bool:
        """Write a trace stage as Beam's ``recordIntentStage`` does; False when it throws.

        Only kept when an as-coded trace quirk is on; otherwise every write succeeds.
        """
        if not self.trace_checks:
            return True
        newest = row.trace_newest
        if newest is not None and not is_allowed(newest[2], stage, "directory"):
            return False
        if newest is None and stage != "received":
            return False
        self._trace_seq += 1
        entry = (self.env.now if timestamp is None else timestamp, self._trace_seq, stage)
        if newest is None or entry[:2] > newest[:2]:
            row.trace_newest = entry
        return True

    def _throw(self, row: IntentRow, done: Answer | None) -> None:
        """A trace write threw: HTTP 500 ``RELAY_ERROR``; the row keeps its status."""
        self.thrown += 1
        self.events.emit("relay_error", row.nonce, status=row.status, trace=row.trace_newest[2] if row.trace_newest else None)
        if done is not None:
            done(_THROWN)

    def _route(self, row: IntentRow, done: Answer | None) -> None:
        # Trace stages are written only when an as-coded trace quirk is on (see _stage).
        staged = self.trace_checks
        if staged and not self._stage(row, "dispatched"):
            self._throw(row, done)  # §3.9/2: status stays `validated`
            return
        move = self.ledger.move
        move(row, "dispatched")
        agent = self.agents.get(row.recipient)
        if agent is None or not agent.connected:
            if row.recipient == ECHO_AGENT:  # maybeDeliverPublicEcho: not registered, or offline
                if staged:
                    self._stage(row, "delivered")
                move(row, "delivered")
                if self.echo_observer is not None:
                    self.echo_observer.received(self.env.now, ECHO_AGENT, row.nonce)
                    self.echo_observer.handled(self.env.now, ECHO_AGENT, row.nonce, True)
                self._finish(row, AgentResult(True, None, echo_payload(row.intent, row.payload)), done)
                return
            self._fail(row, "OFFLINE", done, timed=False)  # offline, or no federation peer knows it
            return
        effect = self.links.effect(f"directory->{agent.id}") if self.links.active else None
        if effect is not None and effect.reset:
            self._fail(row, "DELIVERY_FAILED", done, timed=False)  # the WebSocket send threw
            return
        if staged:
            self._stage(row, "delivered")
        move(row, "delivered")
        row.delivered_at = self.env.now
        row.answer = done
        row.waiting = True
        ticket = (row, row.generation, self.epoch)
        timeout = self.timeouts[row.origin]
        answer_in: float | None = None
        if effect is None or not (effect.dropped or effect.delay):
            answer_in = agent.accept(row, self._reply, ticket)
        elif not effect.dropped:
            def arrive(_event: simpy.Event) -> None:
                if agent.connected:
                    agent.accept(row, self._reply, ticket)
            self.env.timeout(effect.delay).callbacks.append(arrive)
        if answer_in is None or answer_in >= timeout:
            self.env.timeout(timeout, ticket).callbacks.append(self._on_timeout)

    def _current(self, ticket: Ticket) -> bool:
        row, generation, epoch = ticket
        return row.waiting and row.generation == generation and epoch == self.epoch

    def _on_result(self, ticket: Ticket, result: AgentResult | None) -> None:
        """The agent answered (or, with None, lost the answer with its connection)."""
        row, generation, epoch = ticket
        current = row.waiting and row.generation == generation and epoch == self.epoch  # _current, inlined
        if result is None:  # only the timeout can end this wait now
            if current:
                remaining = row.requested_at + self.timeouts[row.origin] - self.env.now
                self.env.timeout(max(0.0, remaining), ticket).callbacks.append(self._on_timeout)
            return
        if not current:
            self._late(ticket, result)
            return
        row.waiting = False
        self._finish(row, result, row.answer)

    def _late(self, ticket: Ticket, result: AgentResult) -> None:
        row, generation, epoch = ticket
        self.late_results += 1
        self.events.emit("agent_result", row.nonce, success=result.success, code=result.code, late=True)
        if (self.late_result_crash and self.up and epoch == self.epoch and row.generation == generation
                and row.status == "failed" and row.error_code in RETRYABLE_INTENT_ERRORS):
            # As coded (§3.9/3): intent_log is reconciled by a raw update, then the trace
            # write failed→acked throws as an unhandled rejection and the process exits.
            row.result = result
            self.ledger.force(row, "acked" if result.success else "failed")
            if self.observer is not None:
                self.observer.finished(row)
            self.stop("late result after a failure crashed the directory")

    def result_frame(self, nonce: str, result: AgentResult) -> None:
        """An agent's ``result`` frame for ``nonce`` arrives now on a live connection (Beam's
        ``handleResult``), such as an agent answering after the directory restarted.

        A waiting sender gets it as usual. With nobody waiting, a ``delivered`` row (one a
        boot resumed, §3.10) is finalised by it as a late result; a row that failed with a
        retryable code meets the as-coded crash when that quirk is on (§3.9/3); anything
        else (an unknown nonce, a finished row) ignores it. Nothing arrives while the
        process is down.
        """
        row = self.rows.get(nonce)
        if not self.up or row is None:
            return
        if row.waiting:
            row.waiting = False
            self._finish(row, result, row.answer)
        elif row.status == "delivered":
            self.resumed.discard(row)
            self.late_results += 1
            self._finish(row, result, None, late=True)
        elif row.status == "failed":
            self._late((row, row.generation, self.epoch), result)

    def seed_row(self, frame: Frame, origin: Origin, status: str, error_code: str | None = None) -> IntentRow:
        """Store an ``intent_log`` row for ``frame`` in ``status`` now, without routing it.

        The row takes the lifecycle's path to ``status`` (``received``; ``validated``;
        ``queued`` and ``dispatched`` after ``validated``; ``delivered`` after
        ``dispatched``, with nobody waiting; ``acked`` after ``delivered``, with the frame's
        payload as its result; ``failed`` after ``dispatched``, with ``error_code``), as
        Beam's own tests write rows before a restart or a resend. Its failure is not
        counted among the directory's failures: it was given, not seen.
        """
        paths = {"received": (), "validated": ("validated",), "queued": ("validated", "queued"),
                 "dispatched": ("validated", "dispatched"), "delivered": ("validated", "dispatched", "delivered"),
                 "acked": ("validated", "dispatched", "delivered", "acked"),
                 "failed": ("validated", "dispatched", "failed")}
        if status not in paths:
            raise ValueError(f"a directory row cannot be seeded in {status!r}; one of {', '.join(paths)}")
        if frame.nonce in self.rows:
            raise ValueError(f"the directory already holds a row for nonce {frame.nonce!r}")
        if (status == "failed") != (error_code is not None):
            raise ValueError("a seeded row has an error code exactly when it is failed")
        row = self.rows[frame.nonce] = IntentRow(frame, origin, self.env.now)
        self.ledger.admit(row)
        self._stage(row, "received")
        if self.observer is not None:
            self.observer.admitted(row)
        for stage in paths[status]:
            self._stage(row, stage)
            if stage == "delivered":
                row.delivered_at = self.env.now
            elif stage == "acked":
                row.result = AgentResult(True, None, frame.payload)
                row.finished_at = self.env.now
            elif stage == "failed":
                row.error_code = error_code
                row.finished_at = self.env.now
            self.ledger.move(row, stage)
        if status in ("acked", "failed"):
            if self.observer is not None:
                self.observer.finished(row)
            self.retention.finished(row)
        return row

    def _on_timeout(self, timer: simpy.Event) -> None:
        ticket = cast(Ticket, timer.value)
        if self._current(ticket):
            row = ticket[0]
            row.waiting = False
            self._fail(row, "TIMEOUT", row.answer)

    def _finish(self, row: IntentRow, result: AgentResult, done: Answer | None, late: bool = False) -> None:
        row.result = result
        row.answer = None
        now = row.finished_at = self.env.now
        if self.on_result_latency is not None:
            self.on_result_latency(0.0 if row.delivered_at is None else now - row.delivered_at)
        if self.events.active:
            self.events.emit("agent_result", row.nonce, success=result.success, code=result.code,
                             accepted_async=result.accepted_async, late=late)
        if result.success:
            if self.trace_checks:
                self._stage(row, "acked")
            self.ledger.move(row, "acked")
            if done is not None:
                done(_new_outcome(RelayOutcome, (200, True, None, None, result.payload, False, None, None)))
        else:
            code = result.code or "RESULT_ERROR"
            row.error_code = code
            self.failures_by_code[code] = self.failures_by_code.get(code, 0) + 1
            if self.trace_checks:
                self._stage(row, "failed")
            self.ledger.move(row, "failed")
            if done is not None:
                done(RelayOutcome(200, False, code, code, result.payload))
        self.security.seen(row.sender, now)
        if self.observer is not None:
            self.observer.finished(row)
        self.retention.finished(row)

    def _fail(self, row: IntentRow, code: str, done: Answer | None, timed: bool = True) -> None:
        """Finalise ``row`` as failed with relay error ``code`` and answer with its HTTP form.

        ``timed`` False: Beam stores no latency for it (``OFFLINE``, a failed send)."""
        row.answer = None
        row.error_code = code
        row.finished_at = self.env.now
        self.failures_by_code[code] = self.failures_by_code.get(code, 0) + 1
        self._stage(row, "failed")
        self.ledger.move(row, "failed")
        if self.observer is not None:
            self.observer.finished(row, timed)
        if done is not None:
            status, body_code = relay_http(code)
            done(RelayOutcome(status, False, body_code, code, error=self._http_error_text(row, code)))
        self.retention.finished(row)

    def _http_error_text(self, row: IntentRow, code: str) -> str:
        """The ``error`` text ``POST /intents/send`` answers for relay error ``code``."""
        if code == "OFFLINE":
            return "agent_offline"
        if code == "TIMEOUT":
            return f"Intent timed out waiting for result ({round(self.timeouts[row.origin] * 1000)}ms)"
        return "Failed to relay intent"

    @abstractmethod
    def stop(self, reason: str) -> None:
        """The process exits (a late result after a failure crashes it, §3.9/3)."""
