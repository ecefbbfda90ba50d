"""Shield (beam-model §7, §8): the per-recipient trust gate, each payload's facts (through the
content sandbox, :mod:`simulator.beam.sandbox`), sender anomalies, and the pass / hold /
reject decision recorded for every relay.

Decisions never block delivery by themselves: a ``hold`` is recorded and the relay goes
on (§3.9/4); rejections come from the checks that threw before the decision.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

from simulator.beam.acl import sender_matches
from simulator.beam.ratelimit import FixedWindows
from simulator.beam.sandbox import payload_text, sanitize
from simulator.scenario.model import ShieldSpec

Decision = Literal["pass", "hold", "reject"]

HOLD_RISK: Final[float] = 0.65
PUBLIC_LIMIT_RISK: Final[float] = 0.9
TRUST_GATE_RISK: Final[float] = 0.85
SEVERITY_RISK: Final[dict[str, float]] = {"critical": 1.0, "high": 0.8, "medium": 0.55, "low": 0.35}
RAPID_WINDOW: Final[float] = 300.0
PAIR_WINDOW: Final[float] = 3600.0


# -- trust gate --------------------------------------------------------------------------


@dataclass
class ShieldConfig:
    """A recipient's live Shield configuration (``agents.shield_config``)."""

    mode: str = "open"
    allowlist: list[str] = field(default_factory=list)
    blocklist: list[str] = field(default_factory=list)
    min_trust: float = 0.3
    rate_limit: int = 20

    @classmethod
    def from_spec(cls, spec: ShieldSpec) -> "ShieldConfig":
        """Build a live config from its scenario form."""
        return cls(spec.mode, list(spec.allowlist), list(spec.blocklist), spec.min_trust, spec.rate_limit)


def _listed(patterns: list[str], sender: str) -> bool:
    if not patterns:
        return False
    if sender in patterns:
        return True
    for pattern in patterns:
        if sender_matches(pattern, sender):
            return True
    return False


def trust_gate(config: ShieldConfig, sender: str, recipient: str, sender_trust: float,
               pairs: FixedWindows, now: float) -> tuple[str, int] | None:
    """Apply the gate's checks in order (§7); return (code, HTTP status) of a refusal, or None.

    closed → blocklist → allowlisted senders pass, skipping the rest → whitelist mode →
    trust strictly below ``min_trust`` → the pair limit per fixed hour.
    """
    if config.mode == "closed":
        return "SHIELD_CLOSED", 403
    if _listed(config.blocklist, sender):
        return "SHIELD_BLOCKED", 403
    if _listed(config.allowlist, sender):
        return None
    if config.mode == "whitelist":
        return "SHIELD_NOT_WHITELISTED", 403
    if sender_trust < config.min_trust:
        return "SHIELD_LOW_TRUST", 403
    if not pairs.hit(f"{sender}→{recipient}", config.rate_limit, now):
        return "SHIELD_RATE_LIMITED", 429
    return None


# -- content facts -----------------------------------------------------------------------


class PayloadFacts(NamedTuple):
    """What Shield derives from a payload: size, hash, sandbox risk and matched patterns."""

    size: int
    digest: str
    risk: float
    patterns: tuple[str, ...]


def payload_facts(payload: dict[str, Any]) -> PayloadFacts:
    """Compute :class:`PayloadFacts` from the payload's JSON text (as Beam's ``JSON.stringify``
    writes it): its length, the first 16 hex digits of its SHA-256, the content sandbox's
    risk and patterns (:mod:`simulator.beam.sandbox`)."""
    return facts_of_text(payload_text(payload))


def facts_of_text(encoded: str) -> PayloadFacts:
    """:func:`payload_facts` of a payload whose JSON text is ``encoded``."""
    sanitized = sanitize(encoded)
    digest = hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:16]
    return PayloadFacts(len(encoded), digest, sanitized.risk, sanitized.patterns)


#: Payload objects the cache holds besides the routes' own: workflow and drill payloads,
#: each a new object, come and go here.
PAYLOAD_CACHE_SPARE: Final[int] = 4096


class PayloadCache:
    """Facts per payload object: traffic routes send the same payload dict many times.

    It holds ``limit`` objects and forgets them all when full, so ``limit`` must exceed
    the payload objects sent again and again (one per traffic route), or every send
    recomputes its facts. Facts depend only on the payload's JSON text, so an object it
    does not hold whose text it has seen (routes with equal payloads) reuses that text's
    facts: only the text is encoded, not sanitized and hashed again.
    """

    def __init__(self, limit: int = PAYLOAD_CACHE_SPARE) -> None:
        self._facts: dict[int, tuple[dict[str, Any], PayloadFacts]] = {}
        self._by_text: dict[str, PayloadFacts] = {}
        self._limit = limit
        #: How many times a payload object it did not hold was looked up (each miss).
        self.computed = 0
        #: How many of those misses were a text not seen before (sanitized and hashed).
        self.derived = 0

    def facts(self, payload: dict[str, Any]) -> PayloadFacts:
        """Return the facts of ``payload``, computed once per object."""
        entry = self._facts.get(id(payload))
        if entry is not None and entry[0] is payload:
            return entry[1]
        if len(self._facts) >= self._limit:
            self._facts.clear()
        self.computed += 1
        encoded = payload_text(payload)
        facts = self._by_text.get(encoded)
        if facts is None:
            if len(self._by_text) >= self._limit:
                self._by_text.clear()
            facts = self._by_text[encoded] = facts_of_text(encoded)
            self.derived += 1
        self._facts[id(payload)] = (payload, facts)
        return facts


# -- anomalies and decisions -------------------------------------------------------------


class ShieldRow(NamedTuple):
    """One ``shield_audit_log`` row; the payload itself is never kept, only its hash."""

    time: float
    nonce: str | None
    sender: str
    sender_trust: float
    intent: str
    payload_hash: str | None
    decision: str
    risk: float
    response_size: int
    flags: tuple[str, ...]


_new_row = tuple.__new__  # skips the NamedTuple's Python-level __new__ on the hot path


class SenderHistory:
    """A sender's earlier Shield rows, aggregated for the four anomaly checks."""

    __slots__ = ("rows", "by_intent", "recent", "recent_live", "removed", "last_trust", "size_sum", "size_rows")

    def __init__(self) -> None:
        self.rows = 0
        self.by_intent: dict[str, int] = {}
        self.recent: deque[ShieldRow] = deque()
        self.recent_live = 0
        self.removed: set[int] = set()
        self.last_trust: float | None = None
        self.size_sum = 0
        self.size_rows = 0

    def anomalies(self, intent: str, trust: float, size: int, now: float) -> list[tuple[str, str]]:
        """Return (anomaly, severity) pairs for a new row, judged on the earlier rows (§8)."""
        found: list[tuple[str, str]] = []
        if self.rows >= 3 and not self.by_intent.get(intent):
            found.append(("new_intent_type", "medium"))
        # Rows older than the rapid-sender window leave it (a removed row was uncounted then).
        recent, cutoff = self.recent, now - RAPID_WINDOW
        if recent and recent[0].time <= cutoff:
            removed = self.removed
            while recent and recent[0].time <= cutoff:
                old = recent.popleft()
                if removed and id(old) in removed:
                    removed.discard(id(old))
                else:
                    self.recent_live -= 1
        live = self.recent_live
        if live > 50:
            found.append(("rapid_sender_rate", "critical"))
        elif live > 20:
            found.append(("rapid_sender_rate", "high"))
        last_trust = self.last_trust
        if last_trust is not None and last_trust - trust > 0.2:
            drop = round(last_trust - trust, 6)  # trust scores have 2 decimals; drop float noise
            if drop > 0.4:
                found.append(("trust_score_drop", "high"))
            elif drop > 0.2:
                found.append(("trust_score_drop", "medium"))
        if self.size_rows >= 5 and size > 0:
            ratio = size / (self.size_sum / self.size_rows)
            if ratio > 50:
                found.append(("response_size_spike", "critical"))
            elif ratio > 10:
                found.append(("response_size_spike", "high"))
        return found

    def add(self, row: ShieldRow) -> None:
        """Count a new row."""
        self.rows += 1
        self.by_intent[row.intent] = self.by_intent.get(row.intent, 0) + 1
        self.recent.append(row)
        self.recent_live += 1
        self.last_trust = row.sender_trust
        if row.response_size > 0:
            self.size_sum += row.response_size
            self.size_rows += 1

    def remove(self, row: ShieldRow, now: float) -> None:
        """Forget a row replaced by a newer row for the same nonce."""
        self.rows -= 1
        self.by_intent[row.intent] -= 1
        if row.response_size > 0:
            self.size_sum -= row.response_size
            self.size_rows -= 1
        if row.time > now - RAPID_WINDOW:
            self.recent_live -= 1
            self.removed.add(id(row))


class Shield:
    """Records a decision for every relay and keeps the audit rows operators read."""

    def __init__(self, horizon: float = 3600.0, keep: int = 10_000, routes: int = 0) -> None:
        """``routes``: how many traffic routes send a payload object of their own again and
        again; the payload cache keeps room for each of them beside its spare slots."""
        self.horizon = horizon
        self.payloads = PayloadCache(routes + PAYLOAD_CACHE_SPARE)
        self.histories: dict[str, SenderHistory] = {}
        self.latest: dict[str, ShieldRow] = {}  # newest row per nonce, while its row is kept
        self._latest_order: deque[tuple[float, str]] = deque()
        self.rows: deque[ShieldRow] = deque(maxlen=keep)
        self.decisions: dict[str, int] = {"pass": 0, "hold": 0, "reject": 0}  # rows held now
        self.recorded: dict[str, int] = {"pass": 0, "hold": 0, "reject": 0}  # every decision made

    def decide(self, now: float, nonce: str | None, sender: str, trust: float, intent: str,
               payload: dict[str, Any], rejected: str | None = None, given_risk: float = 0.0) -> ShieldRow:
        """Record the decision for one frame (§8) and return its row.

        ``rejected`` is the code of a check that refused the frame (the decision is then
        ``reject`` with that code as the last flag); otherwise the decision is ``hold`` when
        the risk reaches 0.65 or any anomaly alerts, else ``pass``.
        """
        facts = self.payloads.facts(payload)
        history = self.histories.get(sender)
        if history is None:
            history = self.histories[sender] = SenderHistory()
        size, risk, flags = facts.size, facts.risk, facts.patterns
        anomalies = history.anomalies(intent, trust, size, now)
        if given_risk > risk:  # risk = max(given, sandbox, anomalies)
            risk = given_risk
        if anomalies:
            names = []
            for name, severity in anomalies:
                severity_risk = SEVERITY_RISK[severity]
                if severity_risk > risk:
                    risk = severity_risk
                names.append(name)
            flags = (*flags, *names)
        if rejected is not None:
            decision = "reject"
            flags = (*flags, rejected)  # Beam's extraFlags come after patterns and anomalies
        else:
            decision = "hold" if risk >= HOLD_RISK or anomalies else "pass"
        row = _new_row(ShieldRow, (now, nonce, sender, trust, intent, facts.digest, decision, risk, size, flags))
        self._record(row, history, now)
        return row

    def reject(self, now: float, sender: str, trust: float, intent: str, risk: float,
               flags: tuple[str, ...]) -> ShieldRow:
        """Write a middleware rejection as Beam's ``logShieldRejection`` does: a fixed risk
        and flags, no nonce, no payload, no anomaly step. It still counts in the sender's
        history for later anomaly checks."""
        history = self.histories.get(sender)
        if history is None:
            history = self.histories[sender] = SenderHistory()
        row = ShieldRow(now, None, sender, trust, intent, None, "reject", risk, 0, flags)
        self._record(row, history, now)
        return row

    def _record(self, row: ShieldRow, history: SenderHistory, now: float) -> None:
        nonce = row.nonce
        if nonce is not None:
            latest = self.latest
            previous = latest.get(nonce)
            if previous is not None:
                previous_history = self.histories.get(previous.sender)
                if previous_history is not None:
                    previous_history.remove(previous, now)
                self.decisions[previous.decision] -= 1
            latest[nonce] = row
            if row.decision == "reject":
                # A refused frame has no intent_log row whose retention would forget it.
                order = self._latest_order
                order.append((now, nonce))
                cutoff = now - self.horizon
                while order and order[0][0] < cutoff:
                    then, old = order.popleft()
                    kept = latest.get(old)
                    if kept is not None and kept.time == then:
                        del latest[old]
        history.add(row)
        self.decisions[row.decision] += 1
        self.recorded[row.decision] += 1
        self.rows.append(row)

    def forget(self, nonce: str) -> None:
        """Drop the newest row kept for ``nonce`` (its intent_log row was forgotten)."""
        self.latest.pop(nonce, None)

    def for_nonce(self, nonce: str) -> ShieldRow | None:
        """The newest row for ``nonce``, if still held."""
        return self.latest.get(nonce)
