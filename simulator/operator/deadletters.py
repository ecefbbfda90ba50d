"""The dead-letter page (beam-model §9.5, §4.6): the bus's dead letters, newest first, with
the page's figures and a requeue hint chosen from each row's error text.

The bus never stores an error code (§15), so the hint reads the free text: ``offline``,
then ``rate``, then ``forbidden``/``acl``, otherwise the default runbook advice.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from simulator.operator.api import ApiModel
from simulator.beam.bus import Bus
from simulator.beam.busrows import BusMessage

HintKind = Literal["offline", "rate", "forbidden-acl", "default"]

#: Columns of a dead-letter row in the page and its export, in order (no payload, no response).
DEAD_LETTER_COLUMNS: Final[tuple[str, ...]] = (
    "id", "nonce", "sender", "recipient", "intent", "status", "priority", "retry_count", "max_retries",
    "created_at", "failed_at", "error", "hint_kind", "hint",
)
HINTS: Final[dict[str, str]] = {
    "offline": "The target was offline: confirm it is connected again, then requeue with the original nonce.",
    "rate": "A rate limit refused it: wait for the window to pass or slow the sender, then requeue.",
    "forbidden-acl": "The ACL refused it: check sender and target ids and recent ACL changes, fix the exact "
                     "entry (never widen it to *), then requeue.",
    "default": "Open the trace, record an owner and next action in the Inbox, fix the root cause, then requeue.",
}
_OFFLINE = re.compile(r"offline", re.IGNORECASE)
_RATE = re.compile(r"(?<![a-z])rate", re.IGNORECASE)
_FORBIDDEN = re.compile(r"forbidden|(?<![a-z])acl(?![a-z])", re.IGNORECASE)


def hint_kind(error: str | None) -> HintKind:
    """Which requeue hint applies to an error text (case-insensitive, first match wins)."""
    text = error or ""
    if _OFFLINE.search(text):
        return "offline"
    if _RATE.search(text):
        return "rate"
    if _FORBIDDEN.search(text):
        return "forbidden-acl"
    return "default"


def dead_letter_row(message: BusMessage) -> dict[str, Any]:
    """A dead letter as the page and the export show it; never its payload or response."""
    kind = hint_kind(message.error)
    view = message.view()
    return {**{column: view[column] for column in DEAD_LETTER_COLUMNS[:-2]}, "hint_kind": kind, "hint": HINTS[kind]}


class DeadLetterPage(ApiModel):
    """The page: its figures (critical tone when there is any dead letter) and its rows."""

    count: int
    unique_senders: int
    unique_recipients: int
    max_retry_count: int
    tone: Literal["critical", "neutral"]
    rows: list[dict[str, Any]]


def dead_letter_page(bus: Bus, sender: str | None = None, recipient: str | None = None,
                     intent: str | None = None, limit: int = 100) -> DeadLetterPage:
    """``GET /v1/beam/dead-letter`` as the dashboard shows it; figures over the rows listed."""
    rows = [dead_letter_row(message) for message in bus.dead_letters(sender, recipient, intent, limit)]
    return DeadLetterPage(count=len(rows), unique_senders=len({row["sender"] for row in rows}),
                          unique_recipients=len({row["recipient"] for row in rows}),
                          max_retry_count=max((row["retry_count"] for row in rows), default=0),
                          tone="critical" if rows else "neutral", rows=rows)
