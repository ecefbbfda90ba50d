"""The directory's security layers against beam-model §3.1–§3.4, §3.7, §3.8, §5, §6, §7 and
requirements §14.13–§14.18: middleware order, public limiter, trust gate, relay checks,
ACL patterns, catalog fields and trust scores."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import open_acl
from simulator.beam.acl import Acl, sender_matches
from simulator.beam.catalog import Catalog
from simulator.beam.relay import Frame
from simulator import parse_scenario
from simulator.scenario.parts import AclEntry
from simulator.beam.trust import trust_score
from simulator.world import World

SENDER = "sender@test.beam.directory"
OTHER = "other@test.beam.directory"
TARGET = "target@test.beam.directory"
GHOST = "ghost@test.beam.directory"  # not registered
REMOTE = "remote@elsewhere.example"  # not a local agent
IP = "203.0.113.7"

NO_PUBLIC_LIMIT = {"per_ip_per_min": 100_000, "per_sender_per_min": 100_000}


def make_world(target: dict[str, Any] | None = None, acl: list[dict[str, str]] | None = None,
               **directory: Any) -> World:
    """SENDER, OTHER and TARGET (``target`` overrides TARGET's fields), open ACL, no traffic."""
    specs = [{"id": SENDER}, {"id": OTHER}, {"id": TARGET, **(target or {})}]
    return World(parse_scenario({"name": "security-test", "agents": specs,
                                 "acl": open_acl(specs) if acl is None else acl,
                                 "directory": directory, "retention": {"finished_rows": None}}), seed=1)


_seq = iter(range(10**9))


def send(world: World, origin: str = "http", sender: str = SENDER, recipient: str = TARGET,
         intent: str = "agent.ping", payload: dict[str, Any] | None = None, ip: str | None = None,
         timestamp: float | None = None, nonce: str | None = None):
    """Relay one frame now; return the outcome event."""
    frame = Frame(sender, recipient, intent, {} if payload is None else payload,
                  nonce or f"sec-{next(_seq)}", world.env.now if timestamp is None else timestamp)
    return world.directory.relay(frame, origin, ip)


def codes(world: World, events: list) -> list[tuple[int, str | None]]:
    """Run half a second and return (http_status, error_code) of each event."""
    world.env.run(until=world.env.now + 0.5)
    assert all(e.triggered for e in events)
    return [(e.value.http_status, e.value.error_code) for e in events]


def one(world: World, **kwargs: Any):
    event = send(world, **kwargs)
    world.env.run(until=world.env.now + 0.5)
    assert event.triggered
    return event.value


def rejects(world: World) -> list:
    return [row for row in world.directory.security.shield.rows if row.decision == "reject"]


def audit_actions(world: World, action: str) -> list:
    return [row for row in world.directory.security.audit.rows if row.action == action]


OK = (200, None)
PUBLIC_429 = (429, "RATE_LIMITED")


# -- HTTP middleware order (§3.1, §14.14) ----------------------------------------------------


def test_public_limiter_runs_before_body_size_wall():
    world = make_world(max_payload_bytes=100, public_limits={"per_ip_per_min": 1})
    assert one(world, payload={"message": "x"}).http_status == 200
    big = {"message": "x" * 500}
    out = one(world, payload=big)
    assert (out.http_status, out.error_code) == PUBLIC_429


def test_oversized_body_still_counts_in_the_public_limiter():
    world = make_world(max_payload_bytes=100, public_limits={"per_ip_per_min": 1})
    assert one(world, payload={"message": "x" * 500}).error_code == "SHIELD_PAYLOAD_TOO_LARGE"
    out = one(world)
    assert (out.http_status, out.error_code) == PUBLIC_429


@pytest.mark.parametrize("extra, expected", [(86, (200, None)), (87, (413, "SHIELD_PAYLOAD_TOO_LARGE"))])
def test_body_size_wall_is_413_only_over_max_payload_bytes(extra, expected):
    # '{"message":""}' is 14 bytes: 14 + 86 = 100 (at the limit), 101 is over.
    world = make_world(max_payload_bytes=100)
    out = one(world, intent="conversation.message", payload={"message": "x" * extra})
    assert (out.http_status, out.error_code) == expected


def test_body_size_wall_runs_before_trust_gate():
    world = make_world({"shield": {"mode": "closed"}}, max_payload_bytes=100)
    out = one(world, payload={"message": "x" * 500})
    assert (out.http_status, out.error_code, out.relay_code) == (413, "SHIELD_PAYLOAD_TOO_LARGE", "SHIELD_PAYLOAD_TOO_LARGE")


def test_default_body_limit_is_65536():
    world = make_world()
    out = one(world, payload={"blob": "x" * 70_000})
    assert (out.http_status, out.error_code) == (413, "SHIELD_PAYLOAD_TOO_LARGE")


def test_trust_gate_runs_before_unknown_sender_check():
    # A closed recipient refuses even a sender the relay would not know.
    world = make_world({"shield": {"mode": "closed"}})
    out = one(world, sender=GHOST)
    assert (out.http_status, out.error_code) == (403, "SHIELD_CLOSED")


def test_websocket_frames_skip_public_limiter_and_trust_gate():
    world = make_world({"shield": {"mode": "closed"}}, public_limits={"per_ip_per_min": 1, "per_sender_per_min": 1})
    events = [send(world, origin="ws") for _ in range(5)]
    assert codes(world, events) == [OK] * 5
    assert audit_actions(world, "public.rate_limit.throttled") == []
    assert audit_actions(world, "shield.request.blocked") == []


# -- relay checks (§3.2 step 3–4, §3.4) --------------------------------------------------------


@pytest.mark.parametrize("origin", ["http", "ws"])
def test_unknown_sender_is_bad_request_400_invalid_intent(origin):
    world = make_world({"shield": {"min_trust": 0.0}})  # unknown trust 0 passes min 0 over HTTP
    out = one(world, origin=origin, sender=GHOST)
    assert (out.http_status, out.error_code, out.relay_code) == (400, "INVALID_INTENT", "BAD_REQUEST")


def test_relay_per_sender_limit_is_60_per_minute():
    world = make_world()
    events = [send(world, origin="ws") for _ in range(61)]
    assert codes(world, events) == [OK] * 60 + [(429, "RATE_LIMITED")]
    assert events[-1].value.relay_code == "RATE_LIMITED"


def test_relay_per_sender_limit_is_per_sender():
    world = make_world()
    events = [send(world, origin="ws") for _ in range(60)]
    events.append(send(world, origin="ws", sender=OTHER))
    assert codes(world, events) == [OK] * 61


def test_rate_limit_per_min_overrides_relay_per_sender_limit():
    world = make_world(rate_limit_per_min=5)
    events = [send(world, origin="ws") for _ in range(6)]
    assert codes(world, events) == [OK] * 5 + [(429, "RATE_LIMITED")]


def test_relay_per_sender_window_resets_60s_after_first_hit():
    world = make_world(rate_limit_per_min=1)
    world.env.run(until=5)
    assert one(world, origin="ws").http_status == 200  # window starts at t=5
    world.env.run(until=65)
    assert one(world, origin="ws").relay_code == "RATE_LIMITED"  # t=65: 5 < 65-60 is false
    world.env.run(until=66)
    assert one(world, origin="ws").http_status == 200


def test_relay_per_sender_limit_runs_before_acl():
    world = make_world(rate_limit_per_min=1)
    assert one(world, origin="ws", intent="agent.introduce").relay_code == "FORBIDDEN"  # counted
    assert one(world, origin="ws", intent="agent.introduce").relay_code == "RATE_LIMITED"


def test_acl_denial_is_403_forbidden_with_shield_reject_row():
    world = make_world()
    out = one(world, intent="agent.introduce", nonce="acl-deny")  # no ACL row
    assert (out.http_status, out.success, out.error_code, out.relay_code) == (403, False, "FORBIDDEN", "FORBIDDEN")
    row = world.directory.security.shield.for_nonce("acl-deny")
    assert (row.decision, row.flags[0]) == ("reject", "FORBIDDEN")


def test_unknown_intent_to_local_target_is_forbidden_not_invalid_intent():
    world = make_world()
    out = one(world, intent="no.such.intent")
    assert (out.http_status, out.error_code, out.relay_code) == (403, "FORBIDDEN", "FORBIDDEN")


def test_unknown_intent_to_remote_target_is_bad_request():
    # ACL is checked for local targets only, so the catalog refuses it.
    world = make_world()
    out = one(world, origin="ws", recipient=REMOTE, intent="no.such.intent")
    assert (out.http_status, out.error_code, out.relay_code) == (400, "INVALID_INTENT", "BAD_REQUEST")


def test_acl_is_not_checked_for_remote_targets():
    world = make_world(acl=[])
    out = one(world, origin="ws", recipient=REMOTE)  # no ACL row at all; routing finds no peer
    assert (out.http_status, out.error_code) == (503, "OFFLINE")


def test_catalog_refuses_missing_required_field_with_400():
    acl = [{"target": TARGET, "intent": "quote.request", "allowed_from": "*"}]
    world = make_world(acl=acl)
    out = one(world, intent="quote.request", payload={"sku": "INV-240", "quantity": 240})
    assert (out.http_status, out.error_code, out.relay_code) == (400, "INVALID_INTENT", "BAD_REQUEST")
    ok = one(world, intent="quote.request", payload={"sku": "INV-240", "quantity": 240, "shipTo": "Mannheim"})
    assert (ok.http_status, ok.success) == (200, True)


@pytest.mark.parametrize("offset, expected", [
    (-300.0, OK), (-300.5, (400, "INVALID_INTENT")), (300.0, OK), (300.5, (400, "INVALID_INTENT")),
])
def test_replay_window_is_plus_minus_300s(offset, expected):
    world = make_world()
    world.env.run(until=1000)
    out = one(world, origin="ws", timestamp=1000 + offset)
    assert (out.http_status, out.error_code) == expected


# -- public limiter (§5.2, §14.15) --------------------------------------------------------------


def test_public_limiter_allows_30_per_ip_per_minute():
    world = make_world()
    events = [send(world, sender=s, ip=IP) for s in (SENDER, OTHER) for _ in range(15)]
    events.append(send(world, sender=SENDER, ip=IP))
    assert codes(world, events) == [OK] * 30 + [PUBLIC_429]
    assert one(world, ip="198.51.100.1").http_status == 200  # another IP has its own bucket


def test_public_limiter_allows_20_per_sender_per_minute():
    world = make_world()
    events = [send(world, ip=f"198.51.100.{i}") for i in range(21)]  # a fresh IP each time
    assert codes(world, events) == [OK] * 20 + [PUBLIC_429]


def test_missing_ip_shares_the_unknown_bucket():
    world = make_world()
    events = [send(world, sender=s) for s in (SENDER, OTHER) for _ in range(15)]
    third = send(world, sender=TARGET, recipient=SENDER)
    assert codes(world, events + [third]) == [OK] * 30 + [PUBLIC_429]
    assert rejects(world)[-1].flags == ("RATE_LIMITED", "bucket:intent-send-ip", "ip:unknown")
    assert rejects(world)[-1].sender == "ip:unknown"  # logThrottle: the IP bucket's actor


def test_ip_bucket_checked_first_and_counts_requests_the_sender_bucket_rejects():
    world = make_world()
    a = [send(world, ip=IP) for _ in range(25)]  # 20 pass; 5 are refused by the sender bucket but count for the IP
    assert codes(world, a) == [OK] * 20 + [PUBLIC_429] * 5
    assert [r.flags[1] for r in rejects(world)] == ["bucket:intent-send-sender"] * 5
    b = [send(world, sender=OTHER, ip=IP) for _ in range(6)]
    assert codes(world, b) == [OK] * 5 + [PUBLIC_429]
    assert rejects(world)[-1].flags[1] == "bucket:intent-send-ip"
    one(world, ip=IP)  # both buckets are full: the IP bucket is named
    assert rejects(world)[-1].flags[1] == "bucket:intent-send-ip"


def test_public_over_limit_request_is_not_counted():
    world = make_world()
    events = [send(world, sender=s, ip=IP) for s in (SENDER, OTHER) for _ in range(15)]
    events += [send(world, ip=IP) for _ in range(2)]
    assert codes(world, events) == [OK] * 30 + [PUBLIC_429] * 2
    windows = world.directory.security.public_windows
    now = world.env.now
    assert windows.count(f"intent-send-ip:ip:{IP}", now) == 30
    assert windows.count(f"intent-send-sender:beam:{SENDER}", now) == 15  # its 2 refused requests never reached it


def test_public_window_resets_60s_after_first_hit():
    world = make_world(public_limits={"per_ip_per_min": 1})
    world.env.run(until=5)
    assert one(world, ip=IP).http_status == 200  # window starts at t=5
    world.env.run(until=65)
    assert one(world, ip=IP).http_status == 429  # t=65: not yet past 5 + 60
    world.env.run(until=66)
    assert one(world, ip=IP).http_status == 200


def test_trusted_ip_skips_public_limiter():
    world = make_world(public_limits={"per_ip_per_min": 1, "per_sender_per_min": 1, "trusted_ips": [IP]})
    assert codes(world, [send(world, ip=IP) for _ in range(5)]) == [OK] * 5
    assert codes(world, [send(world, ip="198.51.100.1") for _ in range(2)]) == [OK, PUBLIC_429]


def test_trusted_sender_pattern_skips_public_limiter():
    world = make_world(public_limits={"per_ip_per_min": 1, "per_sender_per_min": 1,
                                      "trusted_senders": ["*@test.beam.directory"]})
    assert codes(world, [send(world, ip=IP) for _ in range(5)]) == [OK] * 5


def test_public_rejection_writes_audit_and_shield_reject_row():
    world = make_world(public_limits={"per_ip_per_min": 1})
    events = [send(world, ip=IP), send(world, ip=IP, nonce="pub-429")]
    assert codes(world, events) == [OK, PUBLIC_429]
    (audit,) = audit_actions(world, "public.rate_limit.throttled")
    # Beam's logThrottle: actor = the bucket's actor, target = the route (rate-limit.ts:224-235).
    assert (audit.target, audit.details) == ("/intents/send", {"actor": f"ip:{IP}", "bucket": "intent-send-ip",
                                                               "limit": 1, "ip": IP, "intentType": "http.intent.send"})
    # Middleware rejections are written like Beam's logShieldRejection: no nonce, no payload.
    row = world.directory.security.shield.rows[-1]
    assert (row.nonce, row.payload_hash, row.response_size) == (None, None, 0)
    assert (row.decision, row.risk, row.sender_trust) == ("reject", 0.9, 0.0)
    assert (row.sender, row.intent) == (f"ip:{IP}", "http.intent.send")
    assert row.flags == ("RATE_LIMITED", "bucket:intent-send-ip", f"ip:{IP}")


def test_public_reject_row_flags_are_exactly_code_bucket_ip():
    # §5.2: flags RATE_LIMITED, bucket:<b>, ip:<ip> and sender trust 0. The row is written
    # by the limiter itself; the 0 trust is not a trust drop of the sender.
    world = make_world(public_limits={"per_ip_per_min": 1})
    one(world, ip=IP)  # a passed row with trust 0.3
    one(world, ip=IP, nonce="pub-429b")
    # Middleware rejections are written like Beam's logShieldRejection: no nonce, no payload.
    row = world.directory.security.shield.rows[-1]
    assert (row.nonce, row.payload_hash, row.response_size) == (None, None, 0)
    assert (row.risk, row.flags) == (0.9, ("RATE_LIMITED", "bucket:intent-send-ip", f"ip:{IP}"))


# -- trust gate (§7, §14.16) --------------------------------------------------------------------


def gate_world(**shield: Any) -> World:
    return make_world({"shield": shield}, public_limits=NO_PUBLIC_LIMIT)


@pytest.mark.parametrize("shield, expected", [
    ({"mode": "closed"}, (403, "SHIELD_CLOSED")),
    ({"mode": "closed", "allowlist": [SENDER]}, (403, "SHIELD_CLOSED")),  # closed before allowlist
    ({"blocklist": [SENDER]}, (403, "SHIELD_BLOCKED")),
    ({"blocklist": ["*@test.beam.directory"], "allowlist": [SENDER]}, (403, "SHIELD_BLOCKED")),  # blocklist first
    ({"mode": "whitelist"}, (403, "SHIELD_NOT_WHITELISTED")),
    ({"mode": "whitelist", "allowlist": [SENDER]}, OK),
    ({"min_trust": 0.31}, (403, "SHIELD_LOW_TRUST")),
    ({"min_trust": 0.3}, OK),  # a new agent's trust is 0.3: strictly less than fails, equal passes
    ({"min_trust": 0.9, "allowlist": ["*@test.beam.directory"]}, OK),  # allowlist skips min trust
])
def test_trust_gate_checks_in_order(shield, expected):
    out = one(gate_world(**shield))
    assert (out.http_status, out.error_code) == expected
    if expected != OK:
        assert out.relay_code == expected[1]


def test_trust_gate_whitelist_before_low_trust():
    out = one(gate_world(mode="whitelist", min_trust=0.9))
    assert out.error_code == "SHIELD_NOT_WHITELISTED"


def test_trust_gate_pair_limit_is_20_per_hour():
    world = gate_world()
    events = [send(world) for _ in range(21)]
    assert codes(world, events) == [OK] * 20 + [(429, "SHIELD_RATE_LIMITED")]
    assert one(world, sender=OTHER).http_status == 200  # another pair has its own bucket
    world.env.run(until=61)
    out = one(world)
    assert (out.http_status, out.error_code) == (429, "SHIELD_RATE_LIMITED")  # an hour, not a minute
    world.env.run(until=3601)
    assert one(world).http_status == 200


def test_trust_gate_pair_limit_comes_from_recipient_config():
    world = gate_world(rate_limit=2)
    assert codes(world, [send(world) for _ in range(3)]) == [OK, OK, (429, "SHIELD_RATE_LIMITED")]


def test_allowlisted_sender_skips_pair_limit():
    world = gate_world(rate_limit=1, allowlist=[SENDER])
    assert codes(world, [send(world) for _ in range(5)]) == [OK] * 5


def test_unknown_sender_has_trust_zero_at_the_gate():
    out = one(gate_world(min_trust=0.01), sender=GHOST)
    assert (out.http_status, out.error_code) == (403, "SHIELD_LOW_TRUST")


def test_trust_gate_rejection_writes_audit_and_shield_reject_row():
    world = gate_world(mode="closed")
    out = one(world, ip=IP, nonce="gate-403")
    assert out.error_code == "SHIELD_CLOSED"
    (audit,) = audit_actions(world, "shield.request.blocked")
    # Beam's logShieldRejection: actor = sender, target = recipient (trust-gate.ts:99-111).
    assert (audit.target, audit.details) == (TARGET, {"actor": SENDER, "errorCode": "SHIELD_CLOSED",
                                                      "reason": "Agent is not accepting intents", "ip": IP,
                                                      "intentType": "agent.ping", "recipient": TARGET})
    # Middleware rejections are written like Beam's logShieldRejection: no nonce, no payload.
    row = world.directory.security.shield.rows[-1]
    assert (row.nonce, row.payload_hash, row.response_size) == (None, None, 0)
    assert (row.decision, row.risk) == ("reject", 0.85)
    assert row.flags == ("SHIELD_CLOSED", f"ip:{IP}")


def test_trust_gate_reject_row_flags_are_exactly_code_and_ip():
    # §7: risk 0.85, flags [code, ip:<ip>], also for a sender with earlier rows.
    world = make_world({"shield": {"blocklist": [SENDER]}}, public_limits=NO_PUBLIC_LIMIT)
    for _ in range(3):
        one(world, origin="ws")
    one(world, intent="task.delegate", ip=IP, nonce="gate-blocked")
    # Middleware rejections are written like Beam's logShieldRejection: no nonce, no payload.
    row = world.directory.security.shield.rows[-1]
    assert (row.nonce, row.payload_hash, row.response_size) == (None, None, 0)
    assert (row.decision, row.risk, row.flags) == ("reject", 0.85, ("SHIELD_BLOCKED", f"ip:{IP}"))


# -- ACL patterns (§6, §14.17) --------------------------------------------------------------


@pytest.mark.parametrize("pattern, sender, expected", [
    ("*", "anyone@anywhere", True),
    ("a@x.dom", "a@x.dom", True),
    ("a@x.dom", "b@x.dom", False),
    ("*@x.dom", "a@x.dom", True),
    ("*@x.dom", "a@y.x.dom", False),
    ("*@x.dom", "a@x.dom.evil", False),
    ("*.acme", "bot@eu.acme", True),
    ("*.acme", "bot@eu.acmecorp", True),  # "contains .x"
    ("*.acme", "bot@acme", False),
])
def test_acl_sender_patterns(pattern, sender, expected):
    assert sender_matches(pattern, sender) is expected


def test_acl_denies_by_default_and_matches_target_and_intent():
    acl = Acl([AclEntry(target=TARGET, intent="agent.ping", allowed_from="*@test.beam.directory")])
    assert acl.allows(TARGET, "agent.ping", SENDER)
    assert not acl.allows(TARGET, "agent.ping", "x@other.dom")
    assert not acl.allows(TARGET, "task.delegate", SENDER)
    assert not acl.allows(OTHER, "agent.ping", SENDER)
    assert not Acl().allows(TARGET, "agent.ping", SENDER)


def test_acl_add_and_remove_change_decisions():
    acl = Acl()
    entry = AclEntry(target=TARGET, intent="agent.ping", allowed_from=SENDER)
    assert not acl.allows(TARGET, "agent.ping", SENDER)
    acl.add(entry)
    assert acl.allows(TARGET, "agent.ping", SENDER)
    assert acl.remove(entry)
    assert not acl.allows(TARGET, "agent.ping", SENDER)


# -- catalog (§3.7) -------------------------------------------------------------------------


VALID = {
    "quote.request": {"sku": "INV-240", "quantity": 240, "shipTo": "Mannheim, DE"},
    "inventory.check": {"sku": "INV-240", "quantity": 240},
    "purchase.preflight": {"requestNonce": "n-1", "sku": "INV-240", "quantity": 240, "totalPriceEur": 44160},
    "conversation.message": {"message": "hi"},
}


@pytest.mark.parametrize("intent", sorted(VALID))
def test_catalog_accepts_required_fields(intent):
    assert Catalog().problem(intent, VALID[intent]) is None


@pytest.mark.parametrize("intent, field", [(i, f) for i in sorted(VALID) for f in VALID[i]])
def test_catalog_refuses_each_missing_required_field(intent, field):
    payload = {k: v for k, v in VALID[intent].items() if k != field}
    assert Catalog().problem(intent, payload) is not None


@pytest.mark.parametrize("intent, field, value", [
    ("quote.request", "quantity", 2.5),
    ("quote.request", "sku", 240),
    ("inventory.check", "quantity", "240"),
    ("purchase.preflight", "totalPriceEur", "44160"),
    ("conversation.message", "message", 1),
])
def test_catalog_refuses_mistyped_field(intent, field, value):
    assert Catalog().problem(intent, {**VALID[intent], field: value}) is not None


def test_catalog_optional_fields_and_float_price():
    assert Catalog().problem("quote.request", {**VALID["quote.request"], "project": "p", "neededBy": "2026-04-03"}) is None
    assert Catalog().problem("purchase.preflight", {**VALID["purchase.preflight"], "totalPriceEur": 44160.5}) is None


@pytest.mark.parametrize("intent", ["agent.ping", "agent.introduce", "task.delegate", "escalation.request",
                                    "payment.status_check", "sales.pipeline_summary", "system.broadcast"])
def test_catalog_knows_other_intents_with_any_payload(intent):
    assert Catalog().problem(intent, {}) is None


def test_catalog_refuses_unknown_intent():
    assert Catalog().problem("no.such.intent", {}) is not None


# -- trust scores (§3.8) --------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, expected", [
    ({}, 0.3),
    ({"verified": True}, 0.6),
    ({"tier": "pro"}, 0.5),
    ({"seen_within_day": True}, 0.5),
    ({"age_days": 7}, 0.5),
    ({"age_days": 6.99}, 0.3),
    ({"verified": True, "tier": "pro"}, 0.8),
    ({"seen_within_day": True, "age_days": 30}, 0.7),
    ({"verified": True, "tier": "pro", "seen_within_day": True, "age_days": 30}, 1.0),  # 1.2 clamped
    ({"flagged": True, "verified": True, "tier": "pro", "seen_within_day": True, "age_days": 30}, 0.0),
])
def test_trust_score_formula(kwargs, expected):
    args = {"flagged": False, "verified": False, "tier": "basic", "seen_within_day": False, "age_days": 0.0, **kwargs}
    assert trust_score(**args) == expected


def test_new_agent_trust_is_03_and_07_after_first_finished_relay():
    world = make_world()
    security = world.directory.security
    assert security.trust(SENDER) == 0.3
    one(world, origin="ws")
    assert security.trust(SENDER) == 0.7  # 0.3 + 0.2 seen + 0.2 age 30 d


def test_flagged_agent_trust_is_zero_after_relay():
    world = World(parse_scenario({"name": "flagged", "agents": [{"id": SENDER, "flagged": True}, {"id": TARGET}],
                                  "acl": open_acl([{"id": TARGET}])}), seed=1)
    assert one(world, origin="ws").success is True
    assert world.directory.security.trust(SENDER) == 0.0


def test_raised_trust_lets_sender_pass_a_higher_min_trust():
    world = gate_world(min_trust=0.5)
    assert one(world).error_code == "SHIELD_LOW_TRUST"  # 0.3 < 0.5
    one(world, origin="ws")  # a finished relay: 0.7
    assert one(world).http_status == 200
