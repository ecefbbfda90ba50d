"""Shared test helpers."""

from __future__ import annotations

from typing import Any, Iterable

#: Intent types the tests send; the directory's ACL denies anything without a row.
TEST_INTENTS = ("agent.ping", "task.delegate", "conversation.message")


def open_acl(agents: Iterable[dict[str, Any]], intents: Iterable[str] = TEST_INTENTS) -> list[dict[str, str]]:
    """ACL rows letting every sender send ``intents`` to every agent in ``agents``."""
    return [{"target": agent["id"], "intent": intent, "allowed_from": "*"} for agent in agents for intent in intents]


def without_limits(agents: list[dict[str, Any]]) -> dict[str, Any]:
    """Scenario fields that lift the directory's rate limits (public limiter, relay
    per-sender limit, trust-gate pair limit) and open its ACL, for tests of other rules."""
    return {
        "agents": [{**agent, "shield": {"rate_limit": 1000, **agent.get("shield", {})}} for agent in agents],
        "acl": open_acl(agents),
        "directory": {"public_limits": {"per_ip_per_min": 100_000, "per_sender_per_min": 100_000},
                      "rate_limit_per_min": 100_000},
    }
