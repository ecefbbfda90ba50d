"""The directory's relay: frame checks, nonce claims, routing to agents, result waits,
and the relay-error → HTTP mapping the bus sees (beam-model §3).

Security and policy layers (rate limits, ACL, Shield, replay window) plug in through
:attr:`Directory.checks`: each check sees the frame before the nonce is claimed and may
reject it with a relay code.
"""

from __future__ import annotations

from typing import Any, Callable, Final, Literal, NamedTuple, cast

import simpy

from simulator.agents import Agent, AgentResult
from simulator.events import EventStream
from simulator.lifecycle import Ledger
from simulator.retention import Retention

Origin = Literal["http", "ws"]

ECHO_AGENT: Final[str] = "echo@beam.directory"
STALE_PENDING_RETRY_WINDOW: Final[float] = 120.0
RETRYABLE_INTENT_ERRORS: Final[frozenset[str]] = frozenset(
    {"OFFLINE", "TIMEOUT", "DELIVERY_FAILED", "DIRECT_HTTP_FAILED"}
)

#: Relay error code → (HTTP status, body errorCode) on ``POST /intents/send`` (§3.4).
RELAY_HTTP: Final[dict[str, tuple[int, str]]] = {
    "OFFLINE": (503, "OFFLINE"),
    "TIMEOUT": (504, "TIMEOUT"),
    "BAD_REQUEST": (400, "INVALID_INTENT"),
    "FORBIDDEN": (403, "FORBIDDEN"),
    "RATE_LIMITED": (429, "RATE_LIMITED"),
    "IN_PROGRESS": (409, "IN_PROGRESS"),
}
#: Anything else (DELIVERY_FAILED included) is a 500.
RELAY_HTTP_DEFAULT: Final[tuple[int, str]] = (500, "RELAY_ERROR")


def relay_http(code: str) -> tuple[int, str]:
    """Return the HTTP status and body errorCode for relay error ``code``."""
    return RELAY_HTTP.get(code, RELAY_HTTP_DEFAULT)


class Frame(NamedTuple):
    """An intent frame as it reaches the directory."""

    sender: str
    recipient: str
    intent: str
    payload: dict[str, Any]
    nonce: str
    timestamp: float


class RelayOutcome(NamedTuple):
    """What the sender gets back from a relay.

    ``http_status`` is what ``POST /intents/send`` answers: 200 with a result frame
    (``success`` true or false), or an error status whose body carries ``error_code``.
    ``relay_code`` is the directory's own code (``BAD_REQUEST`` where HTTP says
    ``INVALID_INTENT``), which is what a WebSocket sender sees.
    """

    http_status: int
    success: bool
    error_code: str | None = None
    relay_code: str | None = None
    payload: dict[str, Any] | None = None
    cached: bool = False


#: Receives a relay's outcome.
Answer = Callable[[RelayOutcome], Any]


def _answer(done: Answer | None, outcome: RelayOutcome) -> None:
    if done is not None:
        done(outcome)


class IntentRow:
    """One ``intent_log`` row: the directory's record of a nonce."""

    __slots__ = (
        "nonce", "sender", "recipient", "intent", "payload", "origin", "status",
        "requested_at", "finished_at", "error_code", "result", "generation", "answer", "waiting",
    )

    def __init__(self, frame: Frame, origin: Origin, now: float) -> None:
        self.nonce = frame.nonce
        self.sender = frame.sender
        self.recipient = frame.recipient
        self.intent = frame.intent
        self.payload = frame.payload
        self.origin = origin
        self.status = ""
        self.requested_at = now
        self.finished_at: float | None = None
        self.error_code: str | None = None
        self.result: AgentResult | None = None
        self.generation = 0
        self.answer: Answer | None = None
        self.waiting = False


#: What the agent hands back with its answer: the row and the generation it was sent for.
Ticket = tuple[IntentRow, int]

#: A security or policy layer: returns a relay code to reject the frame, or None.
RelayCheck = Callable[[Frame, Origin], "str | None"]


class Directory:
    """Beam's directory relay on virtual time."""

    def __init__(
        self,
        env: simpy.Environment,
        events: EventStream,
        agents: dict[str, Agent],
        http_result_timeout: float = 60.0,
        ws_result_timeout: float = 30.0,
        retention: float | None = None,
    ) -> None:
        self.env = env
        self.events = events
        self.agents = agents
        self.timeouts: dict[str, float] = {"http": http_result_timeout, "ws": ws_result_timeout}
        self.ledger = Ledger("directory", self._on_transition if events.active else None)
        self.rows: dict[str, IntentRow] = {}
        self.retention = Retention(env, events, "directory", retention, self.rows, ("acked", "failed"))
        self.checks: list[RelayCheck] = []
        self.failures_by_code: dict[str, int] = {}
        self.rejections_by_code: dict[str, int] = {}
        self.claims: dict[str, int] = {"cached": 0, "in_progress": 0, "reset": 0}
        self.late_results = 0

    def watch(self) -> None:
        """Start emitting transition events (call after sinks subscribe)."""
        self.ledger.hook = self._on_transition

    def _on_transition(self, nonce: str, previous: str | None, next: str) -> None:
        row = self.rows.get(nonce)
        code = row.error_code if row is not None and next == "failed" else None
        self.events.emit("transition", nonce, path="directory", **{"from": previous, "to": next}, code=code)

    # -- relay -------------------------------------------------------------------------

    def relay(self, frame: Frame, origin: Origin) -> simpy.Event:
        """Relay ``frame`` and return an event that triggers with its :class:`RelayOutcome`."""
        done = self.env.event()
        self.submit(frame, origin, done.succeed)
        return done

    def submit(self, frame: Frame, origin: Origin, done: Answer | None = None) -> None:
        """Relay ``frame``; call ``done`` with the outcome once known (None: nobody waits)."""
        code = "BAD_REQUEST" if frame.sender not in self.agents else None
        for check in self.checks:
            if code is not None:
                break
            code = check(frame, origin)
        if code is not None:
            self._reject(frame, code, done)
            return
        row = self.rows.get(frame.nonce)
        if row is None:
            row = self.rows[frame.nonce] = IntentRow(frame, origin, self.env.now)
            self.ledger.admit(row, then="validated")
        else:
            row = self._claim(row, frame, origin, done)
            if row is None:
                return
        self._route(row, done)

    def _reject(self, frame: Frame, code: str, done: Answer | None) -> None:
        status, body_code = relay_http(code)
        self.rejections_by_code[code] = self.rejections_by_code.get(code, 0) + 1
        self.events.emit("relay_rejected", frame.nonce, code=code, http_status=status)
        _answer(done, RelayOutcome(status, False, body_code, code))

    def _claim(self, row: IntentRow, frame: Frame, origin: Origin, done: Answer | None) -> IntentRow | None:
        """Apply the nonce claim rules (§3.3) to a known nonce; return the row to route
        again, or None when the frame was answered without routing."""
        now = self.env.now
        if (row.sender, row.recipient, row.intent) != (frame.sender, frame.recipient, frame.intent):
            self._reject(frame, "BAD_REQUEST", done)
            return None
        status = row.status
        if status == "acked" or (status == "failed" and row.error_code not in RETRYABLE_INTENT_ERRORS):
            self.claims["cached"] += 1
            self.events.emit("nonce_claim", frame.nonce, outcome="cached", status=status)
            result = row.result
            payload = result.payload if result is not None else None
            _answer(done, RelayOutcome(200, status == "acked", row.error_code, None, payload, cached=True))
            return None
        if status not in ("failed", "dead_letter") and now - row.requested_at <= STALE_PENDING_RETRY_WINDOW:
            self.claims["in_progress"] += 1
            self._reject(frame, "IN_PROGRESS", done)
            return None
        # A stale in-flight row or a retryable failure starts over. As documented, the
        # retry works; it re-enters the lifecycle through `queued`, the table's retry edge.
        self.claims["reset"] += 1
        self.events.emit("nonce_claim", frame.nonce, outcome="reset", status=status)
        row.generation += 1
        row.requested_at = now
        row.origin = origin
        row.error_code = None
        row.result = None
        row.finished_at = None
        self.ledger.move(row, "queued")
        return row

    def _route(self, row: IntentRow, done: Answer | None) -> None:
        self.ledger.move(row, "dispatched")
        agent = self.agents.get(row.recipient)
        if agent is None:
            if row.recipient == ECHO_AGENT:
                self.ledger.move(row, "delivered")
                self._finish(row, AgentResult(True, None, {}), done)
                return
            self._fail(row, "OFFLINE", done)  # no federation peer knows it
            return
        if not agent.connected:
            self._fail(row, "OFFLINE", done)
            return
        self.ledger.move(row, "delivered")
        row.answer = done
        row.waiting = True
        ticket = (row, row.generation)
        answer_in = agent.accept(row, self._on_result, ticket)
        timeout = self.timeouts[row.origin]
        if answer_in is None or answer_in >= timeout:
            self.env.timeout(timeout, ticket).callbacks.append(self._on_timeout)

    def _on_result(self, ticket: Ticket, result: AgentResult | None) -> None:
        """The agent answered (or, with None, lost the answer with its connection)."""
        row, generation = ticket
        current = row.waiting and row.generation == generation
        if result is None:  # only the timeout can end this wait now
            if current:
                remaining = row.requested_at + self.timeouts[row.origin] - self.env.now
                self.env.timeout(max(0.0, remaining), ticket).callbacks.append(self._on_timeout)
            return
        if not current:
            self.late_results += 1
            self.events.emit("agent_result", row.nonce, success=result.success, code=result.code, late=True)
            return
        row.waiting = False
        self._finish(row, result, row.answer)

    def _on_timeout(self, timer: simpy.Event) -> None:
        row, generation = cast(Ticket, timer.value)
        if row.waiting and row.generation == generation:
            row.waiting = False
            self._fail(row, "TIMEOUT", row.answer)

    def _finish(self, row: IntentRow, result: AgentResult, done: Answer | None) -> None:
        row.result = result
        row.answer = None
        row.finished_at = self.env.now
        if self.events.active:
            self.events.emit("agent_result", row.nonce, success=result.success, code=result.code,
                             accepted_async=result.accepted_async, late=False)
        if result.success:
            self.ledger.move(row, "acked")
            if done is not None:
                done(RelayOutcome(200, True, None, None, result.payload))
        else:
            code = result.code or "RESULT_ERROR"
            row.error_code = code
            self.failures_by_code[code] = self.failures_by_code.get(code, 0) + 1
            self.ledger.move(row, "failed")
            if done is not None:
                done(RelayOutcome(200, False, code, code, result.payload))
        self.retention.finished(row)

    def _fail(self, row: IntentRow, code: str, done: Answer | None) -> None:
        """Finalise ``row`` as failed with relay error ``code`` and answer with its HTTP form."""
        row.answer = None
        row.error_code = code
        row.finished_at = self.env.now
        self.failures_by_code[code] = self.failures_by_code.get(code, 0) + 1
        self.ledger.move(row, "failed")
        if done is not None:
            status, body_code = relay_http(code)
            done(RelayOutcome(status, False, body_code, code))
        self.retention.finished(row)
