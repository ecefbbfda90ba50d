"""What travels through the directory's relay: frames, outcomes, ``intent_log`` rows and
the relay-error → HTTP mapping (beam-model §3.2–§3.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Final, Literal, NamedTuple, Protocol

from simulator.beam.agents import AgentResult
from simulator.kernel.row import LIFECYCLE_FIELDS, LifecycleRow

if TYPE_CHECKING:
    from simulator.beam.shield import ShieldRow

Origin = Literal["http", "ws"]

#: Relay error code → (HTTP status, body errorCode) on ``POST /intents/send`` (§3.4).
RELAY_HTTP: Final[dict[str, tuple[int, str]]] = {
    "OFFLINE": (503, "OFFLINE"),
    "TIMEOUT": (504, "TIMEOUT"),
    "BAD_REQUEST": (400, "INVALID_INTENT"),
    "FORBIDDEN": (403, "FORBIDDEN"),
    "RATE_LIMITED": (429, "RATE_LIMITED"),
    "IN_PROGRESS": (409, "IN_PROGRESS"),
}
#: Anything else (DELIVERY_FAILED, a thrown error) is a 500.
RELAY_HTTP_DEFAULT: Final[tuple[int, str]] = (500, "RELAY_ERROR")
#: The status of an outcome where no HTTP answer came at all (connection refused).
NO_RESPONSE: Final[int] = 0


def relay_http(code: str) -> tuple[int, str]:
    """Return the HTTP status and body errorCode for relay error ``code``."""
    return RELAY_HTTP.get(code, RELAY_HTTP_DEFAULT)


class Frame(NamedTuple):
    """An intent frame as it reaches the directory; ``timestamp`` is the sender's clock."""

    sender: str
    recipient: str
    intent: str
    payload: dict[str, Any]
    nonce: str
    timestamp: float


class RelayOutcome(NamedTuple):
    """What the sender gets back from a relay.

    ``http_status`` is what ``POST /intents/send`` answers: 200 with a result frame
    (``success`` true or false), an error status whose body carries ``error_code``, or
    :data:`NO_RESPONSE` when the directory could not be reached. ``relay_code`` is the
    directory's own code (``BAD_REQUEST`` where HTTP says ``INVALID_INTENT``), which is
    what a WebSocket sender sees. ``retry_after`` is the ``Retry-After`` header in seconds.
    ``error`` is the body's ``error`` text (None: the directory's text is not modelled).
    """

    http_status: int
    success: bool
    error_code: str | None = None
    relay_code: str | None = None
    payload: dict[str, Any] | None = None
    cached: bool = False
    retry_after: int | None = None
    error: str | None = None


#: Receives a relay's outcome.
Answer = Callable[[RelayOutcome], Any]


class FrameRelay(Protocol):
    """What the bus needs of the directory: relay a frame and call ``done`` with the outcome."""

    def submit(self, frame: Frame, origin: Origin, done: Answer | None = None,
               client_ip: str | None = None) -> None:
        """Relay ``frame``; call ``done`` with the outcome once known (None: nobody waits)."""


#: An :class:`IntentRow`'s fields (a compiled class has no ``__slots__`` to read them from).
ROW_FIELDS: Final[tuple[str, ...]] = (
    "nonce", "sender", "recipient", "intent", "payload", "origin", "status",
    "requested_at", "delivered_at", "finished_at", "error_code", "result", "generation",
    "answer", "waiting", "shield", "trace_newest",
)
_OWN_ROW_FIELDS: Final[tuple[str, ...]] = tuple(name for name in ROW_FIELDS if name not in LIFECYCLE_FIELDS)


class IntentRow(LifecycleRow):
    """One ``intent_log`` row: the directory's record of a nonce.

    ``trace_newest`` is the newest trace stage as Beam orders them (timestamp, then id);
    it is kept only when an as-coded trace quirk is on.
    """

    __slots__ = _OWN_ROW_FIELDS

    def __init__(self, frame: Frame, origin: Origin, now: float) -> None:
        self.nonce = frame.nonce
        self.sender = frame.sender
        self.recipient = frame.recipient
        self.intent = frame.intent
        self.payload = frame.payload
        self.origin = origin
        self.status = ""
        self.requested_at = now
        self.delivered_at: float | None = None
        self.finished_at = None
        self.error_code: str | None = None
        self.result: AgentResult | None = None
        self.generation = 0
        self.answer: Answer | None = None
        self.waiting = False
        self.shield: Any = None
        self.trace_newest: tuple[float, int, str] | None = None

    def __copy__(self) -> IntentRow:
        """A row with the same fields, as a backup keeps it (``copy.copy``; a compiled
        class has no default copy)."""
        copied = IntentRow(Frame(self.sender, self.recipient, self.intent, self.payload, self.nonce, 0.0),
                           self.origin, self.requested_at)
        copied.status, copied.delivered_at, copied.finished_at = self.status, self.delivered_at, self.finished_at
        copied.error_code, copied.result, copied.generation = self.error_code, self.result, self.generation
        copied.answer, copied.waiting = self.answer, self.waiting
        copied.shield, copied.trace_newest = self.shield, self.trace_newest
        return copied


#: What an agent hands back with its answer: the row and the generation it was sent for.
Ticket = tuple[IntentRow, int]


class DirectoryObserver(Protocol):
    """What the directory tells its observer (:attr:`Directory.observer`): the operator
    surfaces' fact store implements it, so the directory never imports them."""

    def screened(self, row: ShieldRow, previous: ShieldRow | None = None) -> None:
        """Shield recorded ``row`` for a frame; ``previous`` is the row it held for the
        frame's nonce just before (which the new row replaces)."""

    def admitted(self, row: IntentRow) -> None:
        """A new ``intent_log`` row was inserted."""

    def reopened(self, row: IntentRow) -> None:
        """A known row was reset by a nonce claim; its ``requested_at`` is the new one."""

    def finished(self, row: IntentRow, timed: bool = True) -> None:
        """``row`` was finalised (acked or failed); ``timed`` False: Beam stores no latency."""
