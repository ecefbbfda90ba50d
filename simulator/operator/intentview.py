"""How operators see an ``intent_log`` row (beam-model §9.2, §9.6): its latency and its
exported form. Read-only: nothing here changes a row."""

from __future__ import annotations

from typing import Any, Final

from simulator.beam.relay import IntentRow
from simulator.kernel.units import latency_ms

#: Columns of an exported intent row, in order.
INTENT_COLUMNS: Final[tuple[str, ...]] = (
    "nonce", "from", "to", "intent", "origin", "status", "errorCode", "latencyMs", "requestedAt", "finishedAt",
)


def stored_latency_ms(row: IntentRow) -> int | None:
    """The latency Beam stores for the row (:func:`~simulator.kernel.units.latency_ms`);
    None in flight, and None for ``OFFLINE``, for which Beam's relay stores no latency.
    Other failures have one (§9.2).

    Beam also stores none for a failed WebSocket send (``DELIVERY_FAILED`` at routing);
    the row cannot tell it from a restart's ``DELIVERY_FAILED`` (which has one), and a
    failed send happens at ``requested_at``, so that case reads 0 here, not None.
    """
    if row.finished_at is None or row.error_code == "OFFLINE":
        return None
    return latency_ms(row.requested_at, row.finished_at)


def intent_view(row: IntentRow) -> dict[str, Any]:
    """The row as the intents export shows it; times in virtual seconds, no payload."""
    return {
        "nonce": row.nonce,
        "from": row.sender,
        "to": row.recipient,
        "intent": row.intent,
        "origin": row.origin,
        "status": row.status,
        "errorCode": row.error_code,
        "latencyMs": stored_latency_ms(row),
        "requestedAt": float(row.requested_at),
        "finishedAt": None if row.finished_at is None else float(row.finished_at),
    }
