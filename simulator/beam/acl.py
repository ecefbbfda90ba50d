"""The directory's intent ACL (beam-model §6): deny by default, exact and pattern rows."""

from __future__ import annotations

from typing import Iterable

from simulator.scenario.parts import AclEntry


def sender_matches(allowed_from: str, sender: str) -> bool:
    """Return whether ``sender`` matches one ACL row's ``allowed_from``.

    ``*`` matches everyone; ``*@dom`` matches senders ending in ``@dom``; ``*.x`` matches
    senders containing ``.x``; anything else must equal the sender exactly.
    """
    if allowed_from == "*":
        return True
    if allowed_from.startswith("*@"):
        return sender.endswith(allowed_from[1:])
    if allowed_from.startswith("*."):
        return allowed_from[1:] in sender
    return allowed_from == sender


class Acl:
    """``intent_acls`` rows, indexed by (target, intent), with a cache of decisions cleared
    whenever a row changes."""

    def __init__(self, entries: Iterable[AclEntry] = ()) -> None:
        self.entries: list[AclEntry] = []
        self._by_route: dict[tuple[str, str], list[AclEntry]] = {}
        self._decisions: dict[tuple[str, str, str], bool] = {}
        for entry in entries:
            self.add(entry)

    def allows(self, target: str, intent: str, sender: str) -> bool:
        """Return whether ``sender`` may send ``intent`` to ``target``. No row means no."""
        key = (target, intent, sender)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = any(
                sender_matches(entry.allowed_from, sender) for entry in self._by_route.get((target, intent), ()))
        return decision

    def add(self, entry: AclEntry) -> None:
        """``POST /acl``."""
        self.entries.append(entry)
        self._by_route.setdefault((entry.target, entry.intent), []).append(entry)
        self._decisions.clear()

    def remove(self, entry: AclEntry) -> bool:
        """``DELETE /acl/:id`` for the row equal to ``entry``; return whether one was removed."""
        if entry not in self.entries:
            return False
        self.entries.remove(entry)
        self._by_route[(entry.target, entry.intent)].remove(entry)
        self._decisions.clear()
        return True
