"""The directory's security layers in Beam's order (beam-model §3.1, §3.2, §5–§8).

HTTP sends first pass the middleware: the public limiter, the body-size wall and the
recipient's trust gate. Every frame then meets the relay's checks: per-sender limit, ACL
(local targets only), catalog validation and the replay window, after which Shield
records its decision. :meth:`Security.screen` returns the first refusal, or None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, NamedTuple

from simulator.beam.acl import Acl, sender_matches
from simulator.beam.audit import AuditLog
from simulator.beam.catalog import Catalog
from simulator.beam.ratelimit import MINUTE, FixedWindows
from simulator.scenario.model import AgentSpec, Scenario
from simulator.beam.shield import PAIR_WINDOW, PUBLIC_LIMIT_RISK, TRUST_GATE_RISK, Shield, ShieldConfig, ShieldRow, trust_gate
from simulator.beam.limitseam import RateLimitListener
from simulator.beam.shieldseam import ShieldSeam
from simulator.beam.trust import DAY, NEW_AGENT_TRUST, trust_score

if TYPE_CHECKING:
    from simulator.beam.relay import Frame

UNKNOWN_IP = "unknown"
PUBLIC_CLEANUP_INTERVAL = 300.0
RETRY_AFTER = 60
#: The intent type the public limiter's rows carry on ``POST /intents/send``.
PUBLIC_INTENT_TYPE: Final[str] = "http.intent.send"


class Refusal(NamedTuple):
    """A frame the directory refused: HTTP status, body errorCode, the directory's code,
    the ``Retry-After`` header when one is sent, and the body's ``error`` text."""

    http_status: int
    error_code: str
    relay_code: str
    retry_after: int | None = None
    message: str | None = None


#: The relay's own refusals → (HTTP status, body errorCode) (§3.4).
_RELAY_REFUSALS = {
    "BAD_REQUEST": Refusal(400, "INVALID_INTENT", "BAD_REQUEST"),
    "FORBIDDEN": Refusal(403, "FORBIDDEN", "FORBIDDEN"),
    "RATE_LIMITED": Refusal(429, "RATE_LIMITED", "RATE_LIMITED"),
}

#: The trust gate's texts by code (``middleware/trust-gate.ts``).
TRUST_GATE_TEXTS: Final[dict[str, str]] = {
    "SHIELD_CLOSED": "Agent is not accepting intents",
    "SHIELD_BLOCKED": "Blocked by Beam Shield",
    "SHIELD_NOT_WHITELISTED": "Not in allowlist \u2014 agent uses whitelist mode",
    "SHIELD_LOW_TRUST": "Insufficient trust score",
    "SHIELD_RATE_LIMITED": "Rate limited by Beam Shield",
}


class Limits:
    """The live limits of every directory layer; faults change them."""

    def __init__(self, scenario: Scenario, env_sets_both: bool) -> None:
        directory = scenario.directory
        public = directory.public_limits
        self.per_ip = public.per_ip_per_min
        env = directory.rate_limit_per_min
        self.public_per_sender = env if env is not None and env_sets_both else public.per_sender_per_min
        self.relay_per_sender = env if env is not None else 60
        self.trusted_ips = set(public.trusted_ips)
        self.trusted_senders = list(public.trusted_senders)


class Security:
    """State and order of the directory's checks: windows, ACL, catalog, trust, Shield, audit."""

    def __init__(self, scenario: Scenario, quirks: dict[str, bool], horizon: float | None) -> None:
        directory = scenario.directory
        self.limits = Limits(scenario, quirks["rate_limit_env_sets_both"])
        self.wipe_pair_windows = quirks["trust_gate_window_wipe"]
        self.max_payload_bytes = directory.max_payload_bytes
        self.replay_window = directory.replay_window
        self.public_windows = FixedWindows(MINUTE)
        self.pair_windows = FixedWindows(PAIR_WINDOW)
        self.relay_windows = FixedWindows(MINUTE)
        self.acl = Acl(scenario.acl)
        self.catalog = Catalog(directory.extra_intents)
        self.shield = Shield(horizon or 3600.0, routes=len(scenario.traffic.routes))
        self.audit = AuditLog()
        self.agents: dict[str, AgentSpec] = {agent.id: agent for agent in scenario.agents}
        self.configs: dict[str, ShieldConfig] = {a.id: ShieldConfig.from_spec(a.shield) for a in scenario.agents}
        self.default_config = ShieldConfig()
        #: Another Shield config for a cohort's frames to one recipient (a staged change).
        self.shield_seam: ShieldSeam | None = None
        #: Told of every frame a rate limiter refused (None: nobody listens).
        self.on_rate_limited: RateLimitListener | None = None
        self.scores: dict[str, float] = {a.id: NEW_AGENT_TRUST for a in scenario.agents}
        self.trust_overrides: dict[str, float] = {}
        self.flagged: dict[str, bool] = {a.id: a.flagged for a in scenario.agents}
        #: Refusals by the three limiters that all answer ``RATE_LIMITED`` (the directory's
        #: ``rejections_by_code`` cannot tell them apart).
        self.rate_limited: dict[str, int] = {"public_ip": 0, "public_sender": 0, "relay_sender": 0}
        self._settled: set[str] = set()

    # -- trust ---------------------------------------------------------------------------

    def trust(self, agent_id: str) -> float:
        """The agent's current trust score; an unknown sender has 0."""
        override = self.trust_overrides.get(agent_id)
        if override is not None:
            return override
        return self.scores.get(agent_id, 0.0)

    def seen(self, agent_id: str, now: float) -> None:
        """``updateLastSeen``: recompute the agent's score after it sent an intent.

        Once an agent has been seen and is a week old its score no longer changes (until a
        flag changes), so the computation is skipped then.
        """
        if agent_id in self._settled:
            return
        spec = self.agents.get(agent_id)
        if spec is None:
            return
        age = spec.age_days + now / DAY
        self.scores[agent_id] = trust_score(flagged=self.flagged[agent_id], verified=spec.verified, tier=spec.tier,
                                            seen_within_day=True, age_days=age)
        if age >= 7:
            self._settled.add(agent_id)

    # -- the layers ----------------------------------------------------------------------

    def screen(self, now: float, frame: Frame, origin: str, client_ip: str | None, local: bool) -> tuple[Refusal | None, ShieldRow | None]:
        """Run every layer for ``frame`` in order; return the refusal (if any) and the
        Shield row recorded for it (None when the frame never reached a Shield check)."""
        if origin == "http":
            refusal = self._middleware(now, frame, client_ip or UNKNOWN_IP)
            if refusal is not None:
                return refusal
        sender, intent = frame.sender, frame.intent
        if sender not in self.agents:
            return _RELAY_REFUSALS["BAD_REQUEST"]._replace(message=f"Sender {sender} is not registered"), None
        # The relay's checks (``enforceSecurityChecks``) in order; the first that refuses
        # gives the relay code and Beam's text.
        checked: tuple[str, str] | None = None
        if not self.relay_windows.hit(sender, self.limits.relay_per_sender, now):
            self.rate_limited["relay_sender"] += 1
            if self.on_rate_limited is not None:
                self.on_rate_limited(now, sender, frame.recipient, "relay_sender")
            checked = "RATE_LIMITED", f"Rate limit exceeded for {sender}"
        elif local and not self.acl.allows(frame.recipient, intent, sender):
            checked = "FORBIDDEN", f"ACL denied intent {intent} from {sender} to {frame.recipient}"
        else:
            problem = self.catalog.problem(intent, frame.payload)
            if problem is not None:
                checked = "BAD_REQUEST", problem
            elif abs(now - frame.timestamp) > self.replay_window:
                checked = "BAD_REQUEST", "Timestamp outside allowed replay window (5 minutes)"
        if checked is None:
            return None, self.shield.decide(now, frame.nonce, sender, self.trust(sender), intent, frame.payload)
        row = self.shield.decide(now, frame.nonce, sender, self.trust(sender), intent, frame.payload, checked[0])
        return _RELAY_REFUSALS[checked[0]]._replace(message=checked[1]), row

    def _middleware(self, now: float, frame: Frame, ip: str) -> tuple[Refusal, ShieldRow | None] | None:
        limits = self.limits
        if ip not in limits.trusted_ips and not (
                limits.trusted_senders and any(sender_matches(p, frame.sender) for p in limits.trusted_senders)):
            windows = self.public_windows
            for layer, bucket, actor, limit in (("public_ip", "intent-send-ip", "ip:" + ip, limits.per_ip),
                                                ("public_sender", "intent-send-sender", frame.sender,
                                                 limits.public_per_sender)):
                key = f"{bucket}:{actor}" if layer == "public_ip" else f"{bucket}:beam:{actor}"
                if not windows.hit(key, limit, now):
                    # logThrottle: the bucket's actor (the address, or the sender) and the
                    # route's own intent type, not the frame's.
                    self.rate_limited[layer] += 1
                    if self.on_rate_limited is not None:
                        self.on_rate_limited(now, frame.sender, frame.recipient, layer)
                    self.audit.write(now, "public.rate_limit.throttled", "/intents/send", actor=actor, bucket=bucket,
                                     limit=limit, ip=ip, intentType=PUBLIC_INTENT_TYPE)
                    row = self.shield.reject(now, actor, 0.0, PUBLIC_INTENT_TYPE, PUBLIC_LIMIT_RISK,
                                             ("RATE_LIMITED", f"bucket:{bucket}", f"ip:{ip}"))
                    return Refusal(429, "RATE_LIMITED", "RATE_LIMITED", RETRY_AFTER, "Too many requests"), row
        if self.shield.payloads.facts(frame.payload).size > self.max_payload_bytes:
            return Refusal(413, "SHIELD_PAYLOAD_TOO_LARGE", "SHIELD_PAYLOAD_TOO_LARGE",
                           message="Payload too large (max 64KB)"), None
        config = self.configs.get(frame.recipient, self.default_config)
        trust = self.trust(frame.sender)
        seam = self.shield_seam
        if seam is not None and frame.recipient == seam.recipient:
            config = seam.config_for(frame, config, trust, self.pair_windows, now)
        refused = trust_gate(config, frame.sender, frame.recipient, trust, self.pair_windows, now)
        if refused is None:
            return None
        code, status = refused
        if code == "SHIELD_RATE_LIMITED" and self.on_rate_limited is not None:
            self.on_rate_limited(now, frame.sender, frame.recipient, "shield_pair")
        self.audit.write(now, "shield.request.blocked", frame.recipient, actor=frame.sender, errorCode=code,
                         reason=TRUST_GATE_TEXTS[code], ip=ip, intentType=frame.intent, recipient=frame.recipient)
        row = self.shield.reject(now, frame.sender, trust, frame.intent, TRUST_GATE_RISK, (code, f"ip:{ip}"))
        return Refusal(status, code, code, message=TRUST_GATE_TEXTS.get(code)), row

    def cleanup(self, now: float) -> None:
        """The public limiter's 300 s cleanup: rows older than 60 s go, and with the
        window-wipe quirk the trust gate's hour buckets go with them (§5)."""
        self.public_windows.wipe_older_than(now - MINUTE)
        cutoff = now - (MINUTE if self.wipe_pair_windows else PAIR_WINDOW)
        self.pair_windows.wipe_older_than(cutoff)
        if self.shield_seam is not None:
            self.shield_seam.wipe_older_than(cutoff)
