"""What travels through Beam's message bus: ``beam_messages`` rows (beam-model §4.1), the
answers of its API and the outcome of one delivery attempt as the bus sees it."""

from __future__ import annotations

from typing import Any, Callable, Final, NamedTuple

from simulator.kernel.row import LIFECYCLE_FIELDS, LifecycleRow


class BusResponse(NamedTuple):
    """An HTTP answer of the bus API: status code and JSON body, or for a plain-text
    answer (a handler that threw) an empty body and the ``text``."""

    http_status: int
    body: dict[str, Any]
    text: str | None = None


#: A :class:`BusMessage`'s fields (a compiled class has no ``__slots__`` to read them from).
MESSAGE_FIELDS: Final[tuple[str, ...]] = (
    "id", "nonce", "sender", "recipient", "intent", "payload", "status", "priority",
    "retry_count", "max_retries", "next_retry_at", "created_at", "delivered_at",
    "acked_at", "failed_at", "error", "response", "trace_id", "finished_at", "queue_seq", "attempts",
    "error_code", "backoff",
)
_OWN_MESSAGE_FIELDS: Final[tuple[str, ...]] = tuple(name for name in MESSAGE_FIELDS if name not in LIFECYCLE_FIELDS)


class BusMessage(LifecycleRow):
    """One ``beam_messages`` row, plus the simulator's bookkeeping (``finished_at``,
    ``queue_seq``, ``attempts``, ``error_code``: the code of the failure whose text
    ``error`` holds, which Beam does not store, and ``backoff``: the wait before the last
    retry, which decorrelated jitter grows from)."""

    __slots__ = _OWN_MESSAGE_FIELDS

    def __init__(self, message_id: str, nonce: str, sender: str, recipient: str, intent: str,
                 payload: dict[str, Any], priority: int, max_retries: int, now: float) -> None:
        self.id = message_id
        self.nonce = nonce
        self.sender = sender
        self.recipient = recipient
        self.intent = intent
        self.payload = payload
        self.status = ""
        self.priority = priority
        self.retry_count = 0
        self.max_retries = max_retries
        self.next_retry_at: float | None = None
        self.created_at = now
        self.delivered_at: float | None = None
        self.acked_at: float | None = None
        self.failed_at: float | None = None
        self.error: str | None = None
        self.response: Any = None
        self.trace_id: str | None = None
        self.finished_at = None
        self.queue_seq = 0
        self.attempts = 0
        self.error_code: str | None = None
        self.backoff = 0.0

    def __copy__(self) -> BusMessage:
        """A row with the same fields, as a backup keeps it (``copy.copy``; a compiled
        class has no default copy)."""
        copied = BusMessage(self.id, self.nonce, self.sender, self.recipient, self.intent, self.payload,
                            self.priority, self.max_retries, self.created_at)
        for name in MESSAGE_FIELDS:
            setattr(copied, name, getattr(self, name))
        return copied

    def view(self) -> dict[str, Any]:
        """Return the row as the API shows it."""
        return {name: getattr(self, name) for name in MESSAGE_FIELDS if name not in _BOOKKEEPING}


def poll_item(msg: BusMessage) -> dict[str, Any]:
    """One message as ``GET /v1/beam/poll`` shows it: Beam's fixed projection."""
    return {"id": msg.id, "sender": msg.sender, "intent": msg.intent, "payload": msg.payload,
            "priority": msg.priority, "created_at": msg.created_at, "delivered_at": msg.delivered_at,
            "trace_id": msg.trace_id}


_BOOKKEEPING = frozenset({"finished_at", "queue_seq", "attempts", "error_code", "backoff"})

#: Receives a bus API answer.
Answer = Callable[[BusResponse], Any]


class Attempt(NamedTuple):
    """The result of one delivery attempt as the bus sees it."""

    delivered: bool
    http_status: int | None
    error_code: str | None
    error: str | None
    response: Any = None
