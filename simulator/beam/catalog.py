"""The directory's intent catalog (beam-model §3.7): known intent types and the required
payload fields of the demo intents."""

from __future__ import annotations

from typing import Any, Final, Iterable

#: Required fields and their JSON types for the demo intents; other known types take any payload.
REQUIRED_FIELDS: Final[dict[str, dict[str, type | tuple[type, ...]]]] = {
    "quote.request": {"sku": str, "quantity": int, "shipTo": str},
    "inventory.check": {"sku": str, "quantity": int},
    "purchase.preflight": {"requestNonce": str, "sku": str, "quantity": int, "totalPriceEur": (int, float)},
    "conversation.message": {"message": str},
}

KNOWN_INTENTS: Final[frozenset[str]] = frozenset(REQUIRED_FIELDS) | {
    "agent.ping", "agent.introduce", "task.delegate", "escalation.request",
    "payment.status_check", "sales.pipeline_summary", "system.broadcast",
}


class Catalog:
    """Validates an intent type and its payload; ``extra`` adds types with free payloads."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self.known = KNOWN_INTENTS | frozenset(extra)

    def problem(self, intent: str, payload: dict[str, Any]) -> str | None:
        """Return why the payload is refused (an unknown type, a missing or mistyped field), or None."""
        required = REQUIRED_FIELDS.get(intent)
        if required is None:
            return None if intent in self.known else f"Unknown intent type {intent}"
        for field, kind in required.items():
            value = payload.get(field)
            if value is None or isinstance(value, bool) or not isinstance(value, kind):
                return f"Invalid payload for {intent}: {field} is required"
        return None
