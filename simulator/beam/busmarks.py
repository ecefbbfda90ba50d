"""Beam's bus row updates (``packages/message-bus/src/db.ts``): one function per ``mark*``.

Each update checks Beam's transition table first (``assertBeamMessageLifecycleTransition``)
and, when the table refuses it, raises :class:`LifecycleRefused` with Beam's message and
leaves the row untouched, as Beam's ``updateMessageLifecycle`` throws before its
``UPDATE``. Callers decide what the refusal means where it happens: the ack endpoint
answers 409, a send or requeue answers 500, the retry worker abandons its batch. Only a
refused *operator-visible* race reaches these checks; the ledger behind them still stops
the run on a real bug.

The fields each update writes, and the ones it leaves, are Beam's: ``markDelivered``
clears ``error`` and ``next_retry_at`` and keeps ``response``; ``markDispatched`` clears
``next_retry_at``; ``scheduleRetry`` clears ``failed_at``; ``requeueMessage`` resets
everything but the identity.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

from simulator.beam.busrows import BusMessage
from simulator.kernel.lifecycle import Ledger, is_allowed

RESTART_ERROR: Final[str] = "Recovered after message bus restart"


class LifecycleRefused(Exception):
    """Beam's transition table refused a bus row update (``Invalid message … lifecycle
    transition from … to …``)."""

    def __init__(self, msg: BusMessage, next: str) -> None:
        self.message_id = msg.id
        self.previous = msg.status
        self.next = next
        super().__init__(f"Invalid message {msg.id} lifecycle transition from {msg.status} to {next}")


def _move(ledger: Ledger, msg: BusMessage, next: str) -> None:
    if not is_allowed(msg.status, next, "bus"):
        raise LifecycleRefused(msg, next)
    ledger.move(msg, next)


def mark_dispatched(ledger: Ledger, msg: BusMessage) -> None:
    """``markDispatched``: ``dispatched``, ``next_retry_at`` cleared."""
    _move(ledger, msg, "dispatched")
    msg.next_retry_at = None


def mark_delivered(ledger: Ledger, msg: BusMessage, now: float) -> None:
    """``markDelivered``: ``delivered_at`` now, ``next_retry_at`` and ``error`` cleared."""
    _move(ledger, msg, "delivered")
    msg.delivered_at = msg.finished_at = now
    msg.next_retry_at = msg.error = None


def mark_failed(ledger: Ledger, msg: BusMessage, now: float, error: str) -> None:
    """``markFailed``: ``failed_at`` now, ``next_retry_at`` cleared, ``error`` stored."""
    _move(ledger, msg, "failed")
    msg.failed_at = msg.finished_at = now
    msg.next_retry_at = None
    msg.error = error


def mark_dead_letter(ledger: Ledger, msg: BusMessage, now: float, error: str) -> None:
    """``markDeadLetter``: as :func:`mark_failed`, into ``dead_letter``."""
    _move(ledger, msg, "dead_letter")
    msg.failed_at = msg.finished_at = now
    msg.next_retry_at = None
    msg.error = error


def mark_acked(ledger: Ledger, msg: BusMessage, now: float, response: Any = None) -> None:
    """``markAcked``: ``acked_at`` now, ``next_retry_at`` and ``error`` cleared, ``response``
    stored when truthy (JavaScript's truthiness), else cleared."""
    _move(ledger, msg, "acked")
    msg.acked_at = msg.finished_at = now
    msg.next_retry_at = msg.error = None
    msg.response = response if js_truthy(response) else None


def schedule_retry(ledger: Ledger, msg: BusMessage, retry_count: int, next_retry_at: float, error: str) -> None:
    """``scheduleRetry``: ``queued`` with the count, the time, ``failed_at`` cleared, ``error``."""
    _move(ledger, msg, "queued")
    msg.retry_count = retry_count
    msg.next_retry_at = next_retry_at
    msg.failed_at = msg.finished_at = None
    msg.error = error


def requeue_message(ledger: Ledger, msg: BusMessage) -> None:
    """``requeueMessage``: ``queued``, ``retry_count`` 0, every time, error and response cleared."""
    _move(ledger, msg, "queued")
    msg.retry_count = 0
    msg.next_retry_at = msg.delivered_at = msg.acked_at = msg.failed_at = msg.finished_at = None
    msg.error = msg.response = None


def recover(ledger: Ledger, msg: BusMessage, now: float) -> None:
    """``recoverInterruptedMessages`` for one row: ``queued`` due now with the restart error."""
    _move(ledger, msg, "queued")
    msg.next_retry_at = now
    msg.error = RESTART_ERROR
    msg.failed_at = msg.finished_at = None


def js_truthy(value: Any) -> bool:
    """JavaScript's truthiness: ``null``, ``false``, ``0``, ``NaN`` and ``""`` are false;
    every object and array (even empty) is true."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float)):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def js_stringify(value: Any) -> str:
    """``JSON.stringify(value)`` for JSON data: no spaces, non-ASCII kept, integral floats
    written without ``.0``."""
    return json.dumps(_js_numbers(value), separators=(",", ":"), ensure_ascii=False)


def _js_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {str(key): _js_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_js_numbers(item) for item in value]
    return value
