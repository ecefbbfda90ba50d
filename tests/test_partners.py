"""Partner requests, attention flags, notification status, partner health and the digest
against beam-model §10, the fire drill of §12 and requirement §14.27.

Times are virtual seconds; ``H`` is an hour. Rule tests build requests directly and judge
them at a chosen instant; the rest go through a world so proof intents are real rows.
"""

from __future__ import annotations

from itertools import permutations
from types import SimpleNamespace
from typing import Any

import pytest

from conftest import open_acl
from simulator.operator.digest import build_digest
from simulator.operator.partnerhealth import (
    INCIDENT_TITLES,
    SLA_LATENCY_MS,
    TITLE_DEAD_LETTER,
    TITLE_FOLLOW_UP,
    TITLE_LATENCY,
    TITLE_REVIEW,
    AlertRef,
    assess,
    health_report,
)
from simulator.operator.partners import (
    PREREQUISITES,
    STAGES,
    PartnerRequest,
    ProofIntent,
    attention_flags,
    is_follow_up_due,
    is_stale,
    notification_key,
    notification_status,
)
from simulator.beam.relay import Frame
from simulator import parse_scenario
from simulator.world import World

H = 3600.0
PROCUREMENT = "procurement@acme.beam.directory"
FINANCE = "finance@northwind.beam.directory"  # answers after 10 s: with a 6.2 s wait, every intent times out
DESK = "partner-desk@northwind.beam.directory"  # answers at once
NONCE_8 = "abcdefgh"
NONCE_200 = "n" * 200


def make_world(**extra: Any) -> World:
    """PROCUREMENT (HTTP only), FINANCE (slow) and DESK (fast); the directory waits 6.2 s
    for a result, so an intent to FINANCE fails ``TIMEOUT`` with latency 6200 ms."""
    agents: list[dict[str, Any]] = [{"id": PROCUREMENT, "connected": False}, {"id": FINANCE, "latency": "10s"},
                                    {"id": DESK, "latency": 0}]
    scenario = {"name": "partners-test", "agents": agents, "acl": open_acl(agents, ["conversation.message"]),
                "directory": {"http_result_timeout": "6.2s"}, "retention": {"finished_rows": None}, **extra}
    return World(parse_scenario(scenario), seed=1)


def run_to(world: World, t: float) -> None:
    if t > world.env.now:
        world.env.run(until=t)


def send(world: World, nonce: str, to: str = DESK, at: float | None = None) -> None:
    """Relay one conversation.message over HTTP at virtual time ``at`` (default now)."""
    if at is not None:
        run_to(world, at)
    frame = Frame(PROCUREMENT, to, "conversation.message", {"message": "hello"}, nonce, world.env.now)
    world.directory.relay(frame, "http")


def request(**fields: Any) -> PartnerRequest:
    """A request entered its stage at t=0, owned, with nothing due."""
    base: dict[str, Any] = {"id": 1, "email": "ops@northwind.example", "company": "Northwind", "owner": "dana",
                            "created_at": 0.0, "updated_at": 0.0, "stage_entered_at": 0.0}
    return PartnerRequest(**{**base, **fields})


def proof(status: str = "acked", latency: int | None = 100) -> ProofIntent:
    return ProofIntent(nonce="proof-nonce-1", status=status, error_code=None, latency_ms=latency, requested_at=0.0)


def created(world: World, email: str = "ops@northwind.example", **fields: Any) -> int:
    result = world.partners.create(email, **fields)
    assert result.ok, result
    return int(result.body["request"]["id"])


def patched(world: World, request_id: int, changes: dict[str, Any], role: str = "operator") -> dict[str, Any]:
    result = world.partners.patch(request_id, changes, role=role)
    assert (result.status, result.error_code) == (200, None), result
    return dict(result.body["request"])


def audit_rows(world: World, action: str = "admin.beta_request.updated") -> list[Any]:
    return [row for row in world.directory.security.audit.rows if row.action == action]


# -- intake ------------------------------------------------------------------------------


def test_intake_creates_a_new_request_with_notification_new():
    world = make_world()
    run_to(world, 100)
    result = world.partners.create("Ops@Northwind.example", company="Northwind Incident Pilot", agent_count=8,
                                   workflow_type="hosted-beta-partner-handoff")
    assert result.status == 201
    body = result.body["request"]
    assert (body["id"], body["email"], body["status"], body["stageEnteredAt"], body["createdAt"]) == (
        1, "ops@northwind.example", "new", 100.0, 100.0)
    assert (body["company"], body["agentCount"], body["workflowType"]) == (
        "Northwind Incident Pilot", 8, "hosted-beta-partner-handoff")
    req = world.partners.get(1)
    assert req is not None
    assert notification_status(req) == "new"
    assert notification_key(req) == "beta-request:1"
    assert audit_rows(world) == []  # intake is public, not an admin change


def test_repeat_submission_keeps_the_stage():
    world = make_world()
    rid = created(world)
    run_to(world, 50)
    patched(world, rid, {"status": "reviewing"})
    run_to(world, 80)
    result = world.partners.create("  OPS@northwind.example ", company="Northwind 2")
    assert (result.status, result.body["repeat"]) == (200, True)
    req = world.partners.get(rid)
    assert req is not None
    assert (req.id, req.status, req.stage_entered_at, req.company, req.submissions) == (rid, "reviewing", 50.0,
                                                                                         "Northwind 2", 2)
    assert len(world.partners.all()) == 1


def test_repeat_submission_reopens_a_closed_request_and_resets_its_notification():
    world = make_world()
    rid = created(world)
    patched(world, rid, {"status": "closed", "owner": "dana"})
    req = world.partners.get(rid)
    assert req is not None and notification_status(req) == "acted"
    run_to(world, 500)
    assert world.partners.create("ops@northwind.example").status == 200
    req = world.partners.get(rid)
    assert req is not None
    assert (req.status, req.stage_entered_at, req.owner) == ("new", 500.0, "dana")
    assert notification_status(req) == "new"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"email": "not-an-address"}, "INVALID_EMAIL"),
    ({"email": "@northwind.example"}, "INVALID_EMAIL"),
    ({"email": "ops@northwind.example", "agent_count": "8"}, "INVALID_BETA_REQUEST"),
    ({"email": "ops@northwind.example", "agent_count": -1}, "INVALID_BETA_REQUEST"),
    ({"email": "ops@northwind.example", "company": 7}, "INVALID_BETA_REQUEST"),
])
def test_bad_intake_is_a_400(kwargs: dict[str, Any], code: str):
    world = make_world()
    result = world.partners.create(**kwargs)
    assert (result.status, result.error_code) == (400, code)
    assert world.partners.all() == []


# -- stages and PATCH ---------------------------------------------------------------------


def test_every_stage_moves_to_every_other_and_sets_stage_entered_at():
    world = make_world()
    for index, (first, second) in enumerate(permutations(STAGES, 2)):
        rid = created(world, f"p{index}@northwind.example")
        created_at = world.env.now
        run_to(world, created_at + 10)
        body = patched(world, rid, {"status": first})
        assert (body["status"], body["stageEnteredAt"]) == (first, created_at if first == "new" else world.env.now)
        run_to(world, world.env.now + 10)
        body = patched(world, rid, {"status": second})
        assert (body["status"], body["stageEnteredAt"]) == (second, world.env.now)
    assert len(world.partners.all()) == 30


def test_patching_the_same_stage_keeps_stage_entered_at():
    world = make_world()
    rid = created(world)
    run_to(world, 10)
    patched(world, rid, {"status": "reviewing"})
    run_to(world, 20)
    body = patched(world, rid, {"status": "reviewing", "owner": "dana"})
    assert (body["stageEnteredAt"], body["updatedAt"]) == (10.0, 20.0)


def test_patch_sets_every_field():
    world = make_world()
    send(world, NONCE_8)
    run_to(world, 5)
    rid = created(world)
    body = patched(world, rid, {"status": "scheduled", "owner": " dana ", "operatorNotes": "call went well",
                                "nextAction": "send proof recap", "lastContactAt": 3.0, "nextMeetingAt": 7200,
                                "reminderAt": 3600, "proofIntentNonce": NONCE_8,
                                "blockedPrerequisites": ["security_review_confirmed"]})
    assert {key: body[key] for key in ("status", "owner", "operatorNotes", "nextAction", "lastContactAt",
                                       "nextMeetingAt", "reminderAt", "proofIntentNonce", "blockedPrerequisites")} == {
        "status": "scheduled", "owner": "dana", "operatorNotes": "call went well", "nextAction": "send proof recap",
        "lastContactAt": 3.0, "nextMeetingAt": 7200.0, "reminderAt": 3600.0, "proofIntentNonce": NONCE_8,
        "blockedPrerequisites": ["security_review_confirmed"]}
    cleared = patched(world, rid, {"owner": "", "nextAction": None, "reminderAt": None, "proofIntentNonce": None})
    assert (cleared["owner"], cleared["nextAction"], cleared["reminderAt"], cleared["proofIntentNonce"]) == (
        None, None, None, None)


@pytest.mark.parametrize(("stage", "auto"), [
    ("contacted", True), ("scheduled", True), ("active", True),
    ("new", False), ("reviewing", False), ("closed", False),
])
def test_last_contact_is_set_to_now_on_entering_a_contact_stage(stage: str, auto: bool):
    world = make_world()
    rid = created(world)
    run_to(world, 120)
    body = patched(world, rid, {"status": stage})
    assert body["lastContactAt"] == (120.0 if auto else None)


def test_last_contact_auto_set_respects_the_patch_and_an_earlier_contact():
    world = make_world()
    given = created(world, "a@x.example")
    explicit_null = created(world, "b@x.example")
    earlier = created(world, "c@x.example")
    run_to(world, 50)
    patched(world, earlier, {"lastContactAt": 40})
    run_to(world, 300)
    assert patched(world, given, {"status": "active", "lastContactAt": 200})["lastContactAt"] == 200.0
    assert patched(world, explicit_null, {"status": "active", "lastContactAt": None})["lastContactAt"] is None
    assert patched(world, earlier, {"status": "contacted"})["lastContactAt"] == 40.0
    # The rule looks at the stage after the patch: an owner patch on a contacted request
    # with no contact recorded sets it too.
    run_to(world, 400)
    assert patched(world, explicit_null, {"owner": "dana"})["lastContactAt"] == 400.0


def test_all_six_prerequisites_are_recorded_in_canonical_order():
    world = make_world()
    rid = created(world)
    body = patched(world, rid, {"blockedPrerequisites": list(reversed(PREREQUISITES)) + ["workflow_owner_confirmed"]})
    assert body["blockedPrerequisites"] == [
        "workflow_owner_confirmed", "sender_receiver_confirmed", "success_metric_confirmed",
        "security_review_confirmed", "go_live_window_confirmed", "proof_recipients_confirmed"]
    assert patched(world, rid, {"blockedPrerequisites": []})["blockedPrerequisites"] == []


@pytest.mark.parametrize("value", [
    ["workflow_owner_confirmed", "budget_confirmed"],
    ["Workflow_Owner_Confirmed"],
    "workflow_owner_confirmed",
    [1],
])
def test_an_unknown_prerequisite_is_invalid_and_changes_nothing(value: Any):
    world = make_world()
    rid = created(world)
    patched(world, rid, {"blockedPrerequisites": ["go_live_window_confirmed"]})
    result = world.partners.patch(rid, {"blockedPrerequisites": value, "owner": "dana"}, role="operator")
    assert (result.status, result.error_code) == (400, "INVALID_BLOCKED_PREREQUISITES")
    req = world.partners.get(rid)
    assert req is not None and (req.blocked_prerequisites, req.owner) == (("go_live_window_confirmed",), None)
    assert len(audit_rows(world)) == 1


@pytest.mark.parametrize(("nonce", "status", "code"), [
    ("abcdefg", 400, "INVALID_PROOF_INTENT_NONCE"),          # 7 characters
    ("n" * 201, 400, "INVALID_PROOF_INTENT_NONCE"),          # 201 characters
    ("bad nonce!", 400, "INVALID_PROOF_INTENT_NONCE"),       # space and !
    ("nonce/with/slash", 400, "INVALID_PROOF_INTENT_NONCE"),
    (12345678, 400, "INVALID_PROOF_INTENT_NONCE"),
    ("unknown-nonce", 404, "PROOF_INTENT_NOT_FOUND"),        # valid pattern, no intent row
    (NONCE_8, 200, None),                                    # exactly 8
    (NONCE_200, 200, None),                                  # exactly 200
    ("fire:drill_proof-9", 200, None),                       # every allowed punctuation
])
def test_proof_intent_nonce_pattern_and_existence(nonce: Any, status: int, code: str | None):
    world = make_world()
    for existing in (NONCE_8, NONCE_200, "fire:drill_proof-9"):
        send(world, existing)
    run_to(world, 1)
    rid = created(world)
    result = world.partners.patch(rid, {"proofIntentNonce": nonce}, role="operator")
    assert (result.status, result.error_code) == (status, code)
    req = world.partners.get(rid)
    assert req is not None and req.proof_intent_nonce == (nonce if status == 200 else None)


@pytest.mark.parametrize(("request_id", "changes", "role", "status", "code"), [
    (1, {"owner": "dana"}, "viewer", 403, "FORBIDDEN"),
    (1, {"owner": "dana"}, "guest", 403, "FORBIDDEN"),
    (2, {"owner": "dana"}, "operator", 404, "BETA_REQUEST_NOT_FOUND"),
    (1, {}, "operator", 400, "EMPTY_PATCH"),
    (1, {"status": "won"}, "operator", 400, "INVALID_BETA_REQUEST_STATUS"),
    (1, {"stage": "active"}, "operator", 400, "INVALID_BETA_REQUEST_PATCH"),
    (1, {"reminderAt": "tomorrow"}, "operator", 400, "INVALID_BETA_REQUEST_PATCH"),
    (1, {"reminderAt": True}, "operator", 400, "INVALID_BETA_REQUEST_PATCH"),
    (1, {"owner": 5}, "operator", 400, "INVALID_BETA_REQUEST_PATCH"),
])
def test_patch_errors_are_results_and_change_nothing(request_id: int, changes: dict[str, Any], role: str,
                                                     status: int, code: str):
    world = make_world()
    rid = created(world)
    before = world.partners.get(rid)
    result = world.partners.patch(request_id, changes, role=role)
    assert (result.status, result.error_code) == (status, code)
    assert world.partners.get(rid) == before
    assert audit_rows(world) == []


def test_admin_may_patch_and_every_patch_is_audited():
    world = make_world()
    rid = created(world)
    run_to(world, 10)
    patched(world, rid, {"owner": "dana"}, role="operator")
    run_to(world, 20)
    patched(world, rid, {"status": "contacted", "nextAction": "book a call"}, role="admin")
    rows = audit_rows(world)
    assert [(row.time, row.target, row.details["changed"], row.details["role"]) for row in rows] == [
        (10.0, "beta-request:1", ["owner"], "operator"),
        (20.0, "beta-request:1", ["status", "nextAction", "lastContactAt"], "admin"),
    ]
    assert rows[1].details["status"] == "contacted" and rows[1].details["requestId"] == rid


# -- attention flags ----------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "hours"), [("new", 24), ("reviewing", 24), ("contacted", 72),
                                              ("scheduled", 120), ("active", 96)])
def test_stale_at_its_stage_threshold_exactly(stage: str, hours: int):
    req = request(status=stage, stage_entered_at=1000.0, next_meeting_at=1e9)
    # e.g. active: 95:59 in stage is fresh, 96:00 is stale
    assert not is_stale(req, 1000.0 + hours * H - 60)
    assert is_stale(req, 1000.0 + hours * H)
    assert "stale" not in attention_flags(req, 1000.0 + hours * H - 1)
    assert "stale" in attention_flags(req, 1000.0 + hours * H)


def test_closed_is_never_stale_and_never_flagged():
    req = request(status="closed", owner=None, reminder_at=0.0)
    assert not is_stale(req, 10_000 * H)
    assert attention_flags(req, 10_000 * H) == []


def test_unowned_flag():
    assert attention_flags(request(owner=None), 0.0) == ["unowned"]
    assert attention_flags(request(owner="dana"), 0.0) == []


def test_follow_up_due_rules():
    assert is_follow_up_due(request(status="contacted", reminder_at=500.0), 500.0)       # reminder_at == now
    assert not is_follow_up_due(request(status="contacted", reminder_at=500.0), 499.0)   # not yet
    assert is_follow_up_due(request(status="scheduled"), 0.0)                            # no next meeting
    assert not is_follow_up_due(request(status="scheduled", next_meeting_at=9e9), 0.0)
    assert not is_follow_up_due(request(status="closed", reminder_at=0.0), 10.0)
    assert attention_flags(request(status="scheduled", owner=None), 120 * H) == ["unowned", "stale", "follow_up_due"]


# -- the beta-request notification ----------------------------------------------------------


@pytest.mark.parametrize(("fields", "expected"), [
    ({"status": "new", "owner": None}, "new"),
    ({"status": "new", "owner": "dana", "next_action": "call", "last_contact_at": 5.0}, "new"),
    ({"status": "reviewing", "owner": None}, "acknowledged"),
    ({"status": "reviewing", "owner": "dana"}, "acknowledged"),
    ({"status": "reviewing", "next_action": "call"}, "acted"),
    ({"status": "reviewing", "last_contact_at": 5.0}, "acted"),
    ({"status": "contacted", "owner": None}, "acted"),
    ({"status": "scheduled", "owner": None}, "acted"),
    ({"status": "active", "owner": None}, "acted"),
    ({"status": "closed", "owner": None}, "acted"),
])
def test_notification_status_follows_the_request(fields: dict[str, Any], expected: str):
    assert notification_status(request(**fields)) == expected


def item_of(world: World, request_id: int) -> tuple[Any, ...]:
    """The request's inbox item: status, owner, next action, acknowledged and acted times, actor."""
    item = world.inbox.by_key(f"beta-request:{request_id}")
    assert item is not None
    return item.status, item.owner, item.next_action, item.acknowledged_at, item.acted_at, item.actor


def test_intake_writes_the_inbox_item_as_beam_does():
    world = make_world()
    run_to(world, 100)
    rid = created(world, company="Northwind Incident Pilot", agent_count=8, workflow_type="hosted-beta-partner-handoff")
    item = world.inbox.by_key("beta-request:1")
    assert item is not None
    assert (item.source_type, item.severity, item.beta_request_id, item.href, item.created_at) == (
        "beta_request", "warning", rid, "/beta-requests?id=1", 100.0)
    assert (item.title, item.message) == ("Hosted beta request from Northwind Incident Pilot",
                                          "partner handoff · 8 agents")
    assert item_of(world, rid) == ("new", None, "Beam will review the workflow, assign an owner, and follow up "
                                                "with the next concrete step.", None, None, None)
    assert item.details is not None and (item.details["stage"], item.details["stageEnteredAt"]) == ("new", 100.0)
    assert world.inbox.summary().by_source == {"beta_request": 1, "critical_alert": 0}


def test_intake_without_company_or_workflow_is_titled_by_email():
    world = make_world()
    created(world, email="solo@example.org", agent_count=1)
    item = world.inbox.by_key("beta-request:1")
    assert item is not None
    assert (item.title, item.message) == ("Hosted beta request from solo@example.org", "workflow review · 1 agent")


def test_the_item_follows_the_request_new_then_acknowledged_then_acted():
    world = make_world()
    rid = created(world)
    run_to(world, 10)
    patched(world, rid, {"owner": "dana"})  # stage new: the item stays new, with its owner
    assert item_of(world, rid)[:2] == ("new", "dana")
    run_to(world, 20)
    patched(world, rid, {"status": "reviewing"})
    assert item_of(world, rid) == ("acknowledged", "dana", "Beam is reviewing the workflow and assigning an operator.",
                                   20.0, None, "operator")
    run_to(world, 30)
    patched(world, rid, {"nextAction": "Call Northwind about the pilot"})
    assert item_of(world, rid) == ("acted", "dana", "Call Northwind about the pilot", 20.0, 30.0, "operator")
    assert world.inbox.updated_by(world.inbox.by_key("beta-request:1").id) == "sync"  # type: ignore[union-attr]


def test_the_item_goes_back_to_new_when_the_request_does():
    world = make_world()
    rid = created(world)
    patched(world, rid, {"status": "contacted", "owner": "dana"})
    assert item_of(world, rid)[0] == "acted"
    run_to(world, 40)
    patched(world, rid, {"status": "new"})
    assert item_of(world, rid) == ("new", "dana", "Beam will review the workflow, assign an owner, and follow up "
                                                  "with the next concrete step.", None, None, None)


def test_a_reopened_request_resets_its_item_and_a_repeat_does_not():
    world = make_world()
    rid = created(world)
    patched(world, rid, {"status": "reviewing", "owner": "dana"})
    assert world.partners.create("ops@northwind.example").status == 200  # a repeat: the item is left alone
    assert item_of(world, rid)[0] == "acknowledged"
    patched(world, rid, {"status": "closed"})
    assert item_of(world, rid)[0] == "acted"
    run_to(world, 500)
    assert world.partners.create("ops@northwind.example").status == 200
    assert item_of(world, rid) == ("new", "dana", "Beam will review the workflow, assign an owner, and follow up "
                                                  "with the next concrete step.", None, None, None)


def test_every_write_of_the_item_is_an_inbox_updated_event():
    world = make_world()
    seen: list[tuple[Any, ...]] = []
    world.subscribe(lambda event: seen.append((event.time, event.data["status"], event.data["by"]))
                    if event.kind == "inbox_updated" else None)
    rid = created(world)
    run_to(world, 5)
    patched(world, rid, {"owner": "dana"})
    run_to(world, 6)
    patched(world, rid, {"status": "reviewing"})
    assert seen == [(0.0, "new", "created"), (5.0, "new", "upsert"), (6.0, "new", "upsert"),
                    (6.0, "acknowledged", "sync")]


# -- partner health ---------------------------------------------------------------------------


def judged(req: PartnerRequest, evidence: ProofIntent | None = None, alerts: list[AlertRef] | None = None,
           now: float = 10.0) -> tuple[str, str | None]:
    result = assess(req, evidence, alerts or [], now)
    return result.health, result.incident.title if result.incident else None


LINKED = {"proof_intent_nonce": "proof-nonce-1"}


def test_healthy_when_nothing_is_wrong_and_latency_is_at_the_sla():
    assert SLA_LATENCY_MS == 5000
    assert judged(request(**LINKED), proof("acked", 5000)) == ("healthy", None)
    assert judged(request()) == ("healthy", None)


@pytest.mark.parametrize(("req", "evidence", "alerts", "expected"), [
    # critical: a failed or dead-lettered proof, a linked critical alert, active with a follow-up due
    (request(**LINKED), proof("failed", 100), [], ("critical", TITLE_REVIEW)),
    (request(**LINKED), proof("dead_letter", 100), [], ("critical", TITLE_DEAD_LETTER)),
    (request(**LINKED), proof(), [AlertRef("network-error-rate", "critical", ["proof-nonce-1"])],
     ("critical", TITLE_REVIEW)),
    (request(status="active", reminder_at=5.0), None, [], ("critical", TITLE_FOLLOW_UP)),
    # watch: latency over the SLA, a linked warning, stale, a follow-up due, any flag
    (request(**LINKED), proof("acked", 5001), [], ("watch", TITLE_LATENCY)),
    (request(**LINKED), proof(), [AlertRef("network-latency-p95", "warning", ["proof-nonce-1"])],
     ("watch", TITLE_REVIEW)),
    (request(status="contacted"), None, [], ("healthy", None)),
    (request(status="contacted", stage_entered_at=10.0 - 72 * H), None, [], ("watch", TITLE_REVIEW)),
    (request(status="contacted", reminder_at=10.0), None, [], ("watch", TITLE_FOLLOW_UP)),
    (request(owner=None), None, [], ("watch", TITLE_REVIEW)),
    # alerts that do not sample the proof intent, and info alerts, do not count
    (request(**LINKED), proof(), [AlertRef("network-error-rate", "critical", ["other-nonce"])], ("healthy", None)),
    (request(**LINKED), proof(), [AlertRef("x", "info", ["proof-nonce-1"])], ("healthy", None)),
    (request(), None, [AlertRef("network-error-rate", "critical", ["proof-nonce-1"])], ("healthy", None)),
])
def test_health_rules(req: PartnerRequest, evidence: ProofIntent | None, alerts: list[AlertRef],
                      expected: tuple[str, str | None]):
    assert judged(req, evidence, alerts) == expected


def test_incident_titles_in_priority_order():
    assert INCIDENT_TITLES == ("Partner workflow hit a dead letter", "Partner workflow breached the latency target",
                               "Partner workflow needs follow-up", "Partner workflow needs operator review")
    due = {"status": "active", "reminder_at": 0.0, **LINKED}
    assert judged(request(**due), proof("dead_letter", 9000)) == ("critical", TITLE_DEAD_LETTER)
    assert judged(request(**due), proof("failed", 9000)) == ("critical", TITLE_LATENCY)
    assert judged(request(**due, owner=None), proof("acked", 10)) == ("critical", TITLE_FOLLOW_UP)
    assert judged(request(owner=None, **LINKED), proof("acked", 10)) == ("watch", TITLE_REVIEW)


def test_a_dead_lettered_bus_message_makes_the_proof_a_dead_letter():
    # PROCUREMENT has no connection: OFFLINE, retried, dead-lettered after 5 attempts (§14.4);
    # the directory's row records the last attempt's failure.
    world = make_world()
    world.bus.send(DESK, PROCUREMENT, "conversation.message", {"message": "hi"}, nonce="bus-proof-1")
    run_to(world, 20 * 60)
    assert world.bus.by_nonce["bus-proof-1"].status == "dead_letter"
    assert world.directory.rows["bus-proof-1"].status == "failed"
    rid = created(world)
    patched(world, rid, {"status": "reviewing", "owner": "dana", "proofIntentNonce": "bus-proof-1"})
    report = health_report(world.partners)
    item = report.requests[0]
    assert item.proof is not None and (item.proof.status, item.proof.error_code) == ("dead_letter", "OFFLINE")
    assert (item.health, item.incident.title if item.incident else None) == ("critical", TITLE_DEAD_LETTER)


def test_a_linked_proof_row_stays_readable_after_retention_compacts_it():
    world = make_world(retention={"finished_rows": "20m"})
    send(world, NONCE_8)
    run_to(world, 1)
    rid = created(world)
    patched(world, rid, {"owner": "dana", "proofIntentNonce": NONCE_8})
    send(world, "later-intent", at=2 * H)  # retention compacts when later rows finish
    run_to(world, 2 * H + 1)
    assert NONCE_8 not in world.directory.rows
    req = world.partners.get(rid)
    assert req is not None
    evidence = world.partners.proof(req)
    assert evidence is not None and (evidence.status, evidence.latency_ms) == ("acked", 0)


def test_health_report_lists_open_requests_worst_first():
    world = make_world()
    healthy = created(world, "a@x.example")
    patched(world, healthy, {"owner": "dana"})
    watch = created(world, "b@x.example")
    closed = created(world, "c@x.example")
    patched(world, closed, {"status": "closed"})
    critical = created(world, "d@x.example")
    patched(world, critical, {"status": "active", "owner": "dana", "reminderAt": 0})
    report = health_report(world.partners)
    assert [(item.request_id, item.health) for item in report.requests] == [
        (critical, "critical"), (watch, "watch"), (healthy, "healthy")]
    assert report.counts == {"critical": 1, "watch": 1, "healthy": 1}
    assert [(incident.request_id, incident.title) for incident in report.incidents] == [
        (critical, TITLE_FOLLOW_UP), (watch, TITLE_REVIEW)]
    # a request not updated within the report's days is left out
    run_to(world, 2 * 86400 + 1)
    assert [item.request_id for item in health_report(world.partners, days=2).requests] == []


def test_fire_drill_request_is_critical_with_the_latency_incident():
    """beam-model §12 / §14.28: ten TIMEOUT failures at 6200 ms a minute apart, and
    "Northwind Incident Pilot" active, owned, with a next action, a last contact, a past
    reminder and proof nonce fire-drill-proof-9."""
    world = make_world()
    for index in range(10):
        send(world, f"fire-drill-proof-{index}", to=FINANCE, at=60.0 * index)
    run_to(world, 600)
    rows = [world.directory.rows[f"fire-drill-proof-{index}"] for index in range(10)]
    assert {(row.status, row.error_code) for row in rows} == {("failed", "TIMEOUT")}
    rid = created(world, "pilot@northwind.example", company="Northwind Incident Pilot", agent_count=8,
                  workflow_type="hosted-beta-partner-handoff")
    body = patched(world, rid, {"status": "active", "owner": "dana", "nextAction": "Confirm the TIMEOUT root cause",
                                "lastContactAt": 590, "reminderAt": 595, "proofIntentNonce": "fire-drill-proof-9"})
    assert body["attention"] == ["follow_up_due"]
    # The alert engine's three critical alerts (§12), in its order; each samples the
    # three newest matching rows, so each includes fire-drill-proof-9.
    newest = ["fire-drill-proof-9", "fire-drill-proof-8", "fire-drill-proof-7"]
    alerts = [AlertRef("network-error-rate", "critical", newest), AlertRef("network-latency-p95", "critical", newest),
              AlertRef("error-hotspot-timeout", "critical", newest)]
    assert [r.id for r in world.partners.requests_for_nonces(newest)] == [rid]
    report = health_report(world.partners, alerts)
    # the same from alert objects carrying sample traces, as the alert engine's records do
    as_objects = [SimpleNamespace(id=a.id, severity=a.severity,
                                  sample_traces=[SimpleNamespace(nonce=n) for n in a.sample_nonces]) for a in alerts]
    assert health_report(world.partners, as_objects) == report
    item = report.requests[0]
    assert item.health == "critical"
    assert item.proof is not None and (item.proof.status, item.proof.error_code, item.proof.latency_ms) == (
        "failed", "TIMEOUT", 6200)
    assert item.reasons == ("proof_failed", "critical_alert:network-error-rate", "critical_alert:network-latency-p95",
                            "critical_alert:error-hotspot-timeout", "active_follow_up_due", "latency_over_sla",
                            "follow_up_due")
    assert [(i.request_id, i.severity, i.linked_alert) for i in report.incidents] == [
        (rid, "critical", "network-error-rate")]
    # Which title wins: the proof is `failed` (TIMEOUT), not `dead_letter`, so the first
    # title does not apply; its latency, 6200 ms, is over the 5000 ms SLA, and that title
    # outranks "needs follow-up" although the reminder is past. Critical health comes from
    # the failed proof, the linked critical alerts and active-with-follow-up-due, but the
    # title is chosen by the priority order alone. The linked alert is the first alert in
    # the engine's order (critical first, creation order within), network-error-rate.
    assert report.incidents[0].title == "Partner workflow breached the latency target"


def test_requests_for_nonces_newest_update_first_at_most_three():
    world = make_world()
    for index in range(4):
        send(world, f"proof-nonce-{index}")
    run_to(world, 1)
    ids = []
    for index in range(4):
        run_to(world, 10 + index)
        rid = created(world, f"p{index}@x.example")
        patched(world, rid, {"proofIntentNonce": f"proof-nonce-{index}"})
        ids.append(rid)
    nonces = [f"proof-nonce-{index}" for index in range(4)]
    assert [r.id for r in world.partners.requests_for_nonces(nonces)] == [ids[3], ids[2], ids[1]]
    assert [r.id for r in world.partners.requests_for_nonces(["proof-nonce-0", "nope"])] == [ids[0]]
    assert world.partners.requests_for_nonces([]) == []


# -- digest -------------------------------------------------------------------------------------


def test_digest_metrics_json_and_markdown():
    world = make_world()
    due = created(world, "a@x.example", company="Acme")
    patched(world, due, {"status": "contacted", "owner": "dana", "reminderAt": 0})
    soon = created(world, "b@x.example", company="Beta")
    patched(world, soon, {"status": "scheduled", "owner": "lee", "nextMeetingAt": 2 * 86400})
    later = created(world, "c@x.example", company="Gamma")
    patched(world, later, {"status": "scheduled", "nextMeetingAt": 10 * 86400})
    closed = created(world, "d@x.example")
    patched(world, closed, {"status": "closed", "owner": "dana"})
    run_to(world, 60)
    digest = build_digest(world.partners.all(), world.env.now, epoch=world.scenario.epoch)
    assert digest.to_json()["metrics"] == {"totalThreads": 3, "ownedThreads": 2, "dueNow": 1, "upcomingMeetings": 1,
                                           "meetingsThisWeek": 1, "unownedThreads": 1}
    assert build_digest(world.partners.all(), world.env.now, days=14).metrics.upcoming_meetings == 2
    assert build_digest(world.partners.all(), world.env.now, days=14).metrics.meetings_this_week == 1
    mine = build_digest(world.partners.all(), world.env.now, owner="dana")
    assert (mine.metrics.total_threads, mine.metrics.due_now, [t.id for t in mine.due_now]) == (1, 1, [due])
    text = digest.markdown()
    assert text.startswith("# Partner digest\n")
    assert "| totalThreads | 3 |" in text and "| unownedThreads | 1 |" in text
    assert "- #1 Acme (contacted), owner dana, next action: none, next meeting —, reminder 2026-04-03T08:00:00Z" in text
    assert "- #2 Beta (scheduled), owner lee" in text and "next meeting 2026-04-05T08:00:00Z" in text
