"""The GameDay's operator API through Starlette's TestClient: Beam's reads and writes in
Beam's shapes, every action journalled at the virtual time it entered the world, the
token rule, and bad requests answered with Beam-style 4xx bodies that change nothing."""

from __future__ import annotations

import json
import warnings
from typing import Any, Iterator

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from drills.executor.execute import DrillRun
from drills.gameday.pacer import Pacer
from drills.gameday.routes import MAX_BODY, build_app
from drills.gameday.session import Session, load_gameday
from simulator.world import World

FINANCE = "finance@acme.beam.directory"
DESK = "partner-desk@northwind.beam.directory"


def _session(at: float = 700.0) -> Session:
    loaded = load_gameday("fm3-dead-letter")
    world = World(loaded.scenario)
    world.check_history()
    session = Session(DrillRun(loaded, world, None), wall=lambda: 1_800_000_000.0)
    session.pace = Pacer(session.advance_to, lambda: session.now, session.end, speed=1.0, clock=lambda: 0.0)
    session.advance_to(at)
    return session


@pytest.fixture(scope="module")
def day() -> Iterator[tuple[Session, TestClient]]:
    """fm3-dead-letter at t=700s: six dead letters, a new critical item, finance offline,
    and an acked bus message (which cannot be requeued)."""
    session = _session()
    session.world.seed_bus_message(DESK, FINANCE, "quote.request", nonce="acked-1", status="acked")
    with TestClient(build_app(session)) as client:
        yield session, client


def test_reads_answer_in_beams_shapes(day: tuple[Session, TestClient]) -> None:
    session, client = day
    inbox = client.get("/admin/operator-notifications", params={"status": "new"}).json()
    assert [(n["id"], n["sourceKey"], n["status"]) for n in inbox["notifications"]] == [
        (1, "critical-alert:network-error-rate", "new")]
    assert inbox["summary"]["byStatus"] == {"new": 1, "acknowledged": 0, "acted": 0}
    alerts = client.get("/observability/alerts").json()
    assert [(a["id"], a["severity"], a.get("notificationStatus")) for a in alerts["alerts"]] == [
        ("network-error-rate", "critical", "new"), ("error-hotspot-offline", "warning", None)]
    dead = client.get("/v1/beam/dead-letter").json()
    assert (dead["count"], dead["tone"], dead["maxRetryCount"]) == (6, "critical", 4)
    trace = client.get(f"/observability/intents/{dead['rows'][0]['nonce']}").json()
    assert trace["status"] == "dead_letter" and "record an owner" in trace["guidance"]
    errors = client.get("/observability/errors").json()
    assert errors["deadLetters"] == 6 and errors["directory"]["OFFLINE"] > 0
    assert client.get(f"/shield/config/{FINANCE}").json() == {"beamId": FINANCE, "config": {
        "mode": "open", "allowlist": [DESK], "blocklist": [], "minTrust": 0.3, "rateLimit": 20}}
    assert client.get("/admin/beta-requests").json() == {"requests": []}
    state = client.get("/api/gameday").json()
    assert (state["drill"], state["virtualTime"], state["end"], state["over"]) == ("fm3-dead-letter", 700.0, 1200.0, False)
    assert state["faults"] == [{"index": 0, "name": "finance offline", "kind": "agent_disconnect", "at": 0.0,
                                "active": True, "revertible": True}]
    assert session.journal.actions == []  # reads are not actions


def test_reads_change_nothing(day: tuple[Session, TestClient]) -> None:
    session, client = day
    before = (session.world.inbox.items(), len(session.world.alerts.transitions), session.world.now)
    for path in ("/", "/metrics", "/observability/alerts", "/admin/operator-notifications", "/api/gameday"):
        assert client.get(path).status_code == 200
    assert (session.world.inbox.items(), len(session.world.alerts.transitions), session.world.now) == before


def test_actions_enter_the_world_now_and_are_journalled() -> None:
    session = _session()
    with TestClient(build_app(session)) as client:
        headers = {"x-beamdrill-actor": "dana"}
        acked = client.patch("/admin/operator-notifications/1", json={"status": "acknowledged", "owner": "dana"},
                             headers=headers)
        assert acked.status_code == 200
        assert acked.json()["notification"]["acknowledgedAt"] == 700.0
        session.advance_to(760.0)
        acl = {"targetBeamId": FINANCE, "intentType": "quote.request", "allowedFrom": DESK}
        assert client.post("/acl", json=acl, headers=headers).status_code == 201
        assert acl in client.get(f"/acl/{FINANCE}").json()["acls"]
        assert client.request("DELETE", "/acl", json=acl, headers=headers).json()["ok"] is True
        assert client.post("/observability/export", json={"datasets": ["intents"]}).json()["files"][0]["file"] == \
            "evidence/t760-intents.json"
        assert client.post("/api/gameday/faults/finance offline/revert").json() == {"ok": True, "reverted": 0}
        letter = client.get("/v1/beam/dead-letter").json()["rows"][0]
        requeued = client.post(f"/v1/beam/dead-letter/{letter['id']}/requeue", headers=headers)
        assert requeued.status_code == 202 and requeued.json()["nonce"] == letter["nonce"]
        shield = client.patch(f"/shield/config/{FINANCE}", json={"minTrust": 0.5})
        assert shield.json()["config"]["minTrust"] == 0.5
        created = client.post("/admin/beta-requests", json={"email": "pilot@acme.example", "company": "Acme"})
        assert created.status_code == 201
        request_id = created.json()["request"]["id"]
        patched = client.patch(f"/admin/beta-requests/{request_id}", json={"owner": "dana", "nextAction": "call"})
        assert patched.status_code == 200
        assert client.post("/api/gameday/pause").json() == {"ok": True, "paused": True}
        assert client.post("/api/gameday/speed", json={"speed": 60}).json() == {"ok": True, "speed": 60.0}
        assert client.post("/api/gameday/resume").json() == {"ok": True, "paused": False}
        journal = client.get("/api/gameday/journal").json()
    actions = [(a["virtual_time"], a["actor"], a["action"], a["outcome"]["status"]) for a in journal["actions"]]
    assert actions == [
        (700.0, "dana", "inbox.patch", 200), (760.0, "dana", "acl.add", 201), (760.0, "dana", "acl.remove", 200),
        (760.0, "operator", "evidence.export", 200), (760.0, "operator", "fault.revert", 200),
        (760.0, "dana", "dead_letter.requeue", 202), (760.0, "operator", "shield.update", 200),
        (760.0, "operator", "partner_request.create", 201), (760.0, "operator", "partner_request.patch", 200),
        (760.0, "operator", "pace.pause", 200), (760.0, "operator", "pace.speed", 200),
        (760.0, "operator", "pace.resume", 200)]
    assert journal["actions"][0]["wall_time"] == "2027-01-15T08:00:00+00:00"
    assert journal["actions"][5]["broke"] == []  # fixed, owned and evidence exported first
    assert [a.kind for a in session.drill.record.method if a.type == "action"][:3] == [
        "inbox.patch", "acl.add", "acl.remove"]
    assert [row.action for row in session.world.audit_rows()][-2:] == ["shield.config.updated", "admin.beta_request.updated"]


def test_a_requeue_before_the_fix_breaks_the_runbook_rules() -> None:
    session = _session()
    with TestClient(build_app(session)) as client:
        letter = client.get("/v1/beam/dead-letter").json()["rows"][0]
        assert client.post(f"/v1/beam/dead-letter/{letter['id']}/requeue").status_code == 202
    assert session.journal.actions[0].broke == [
        "requeue before the root cause was fixed", "requeue before an owner was recorded",
        "requeue or prune before the evidence was exported"]
    assert [v.rule for v in session.drill.record.violations] == session.journal.actions[0].broke


def test_the_token_guards_every_route_and_changes_nothing_without_it() -> None:
    session = _session()
    with TestClient(build_app(session, token="s3cret-token")) as client:
        for method, path in [("GET", "/"), ("GET", "/metrics"), ("GET", "/api/gameday"),
                             ("PATCH", "/admin/operator-notifications/1"), ("POST", "/api/gameday/finish"),
                             ("GET", "/no/such/route")]:
            for headers in ({}, {"authorization": "Bearer wrong-token"}, {"authorization": "bearer s3cret-token"},
                            {"authorization": "s3cret-token"}):
                response = client.request(method, path, headers=headers, json={"status": "acknowledged"})
                assert response.status_code == 401, (method, path, headers)
                assert response.json()["errorCode"] == "UNAUTHORIZED"
                assert response.headers["www-authenticate"] == "Bearer"
        assert session.world.inbox.items()[0].status == "new" and not session.finish_requested
        assert session.journal.actions == []
        good = {"authorization": "Bearer s3cret-token"}
        assert client.get("/api/gameday", headers=good).status_code == 200
        assert client.patch("/admin/operator-notifications/1", json={"status": "acknowledged"},
                            headers=good).status_code == 200


def test_a_browser_signs_in_once_with_the_token_in_the_address_and_then_carries_a_strict_cookie() -> None:
    session = _session()
    with TestClient(build_app(session, token="s3cret-token")) as client:
        for query in ("", "?token=wrong-token", "?token="):
            assert client.get(f"/{query}", follow_redirects=False).status_code == 401
        assert client.get("/api/gameday?token=s3cret-token").status_code == 401  # only the console signs in
        signed = client.get("/?token=s3cret-token", follow_redirects=False)
        assert (signed.status_code, signed.headers["location"]) == (303, "/")
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert client.get("/").status_code == 200  # the client keeps the cookie, as a browser does
        assert client.patch("/admin/operator-notifications/1", json={"status": "acknowledged"}).status_code == 200
        client.cookies.set("beamdrill_gameday_token", "wrong-token")
        assert client.get("/api/gameday").status_code == 401


def _acked_message(session: Session) -> str:
    return session.world.bus.by_nonce["acked-1"].id


#: (method, path, body: JSON value, raw bytes or None, extra headers, status, errorCode)
BAD: list[tuple[str, str, Any, dict[str, str], int, str]] = [
    ("GET", "/nope", None, {}, 404, "NOT_FOUND"),
    ("GET", "/admin/operator-notifications/1/extra", None, {}, 404, "NOT_FOUND"),
    ("POST", "/admin/operator-notifications", None, {}, 405, "METHOD_NOT_ALLOWED"),
    ("DELETE", "/", None, {}, 405, "METHOD_NOT_ALLOWED"),
    ("POST", "/metrics", None, {}, 405, "METHOD_NOT_ALLOWED"),
    ("PATCH", "/admin/operator-notifications/999", {"status": "acknowledged"}, {}, 404, "NOT_FOUND"),
    ("PATCH", "/admin/operator-notifications/abc", {"status": "acknowledged"}, {}, 400, "INVALID_ID"),
    ("PATCH", "/admin/operator-notifications/1", {}, {}, 400, "EMPTY_PATCH"),
    ("PATCH", "/admin/operator-notifications/1", {"status": "closed"}, {}, 400, "INVALID_NOTIFICATION_STATUS"),
    ("PATCH", "/admin/operator-notifications/1", {"status": 3}, {}, 400, "INVALID_NOTIFICATION_STATUS"),
    ("PATCH", "/admin/operator-notifications/1", b"{", {}, 400, "INVALID_JSON"),
    ("PATCH", "/admin/operator-notifications/1", b"\xff\xfe", {}, 400, "INVALID_JSON"),
    ("PATCH", "/admin/operator-notifications/1", [1, 2], {}, 400, "INVALID_BODY"),
    ("PATCH", "/admin/operator-notifications/1", "acknowledged", {}, 400, "INVALID_BODY"),
    ("PATCH", "/admin/operator-notifications/1", {"owner": "x" * (MAX_BODY + 1)}, {}, 413, "PAYLOAD_TOO_LARGE"),
    ("PATCH", "/admin/operator-notifications/1", {"id": 2, "status": "acknowledged"}, {}, 400, "INVALID_REQUEST"),
    ("PATCH", "/admin/operator-notifications/1", {"status": "acknowledged"}, {"x-beamdrill-actor": "x" * 101}, 400,
     "INVALID_ACTOR"),
    ("PATCH", "/admin/operator-notifications/1", {"status": "acknowledged"}, {"x-beamdrill-actor": " "}, 400,
     "INVALID_ACTOR"),
    ("GET", "/admin/operator-notifications?status=closed", None, {}, 400, "INVALID_NOTIFICATION_STATUS"),
    ("GET", "/admin/operator-notifications?limit=0", None, {}, 400, "INVALID_LIMIT"),
    ("GET", "/admin/operator-notifications?limit=abc", None, {}, 400, "INVALID_LIMIT"),
    ("GET", "/admin/operator-notifications?limit=5001", None, {}, 400, "INVALID_LIMIT"),
    ("GET", "/admin/operator-notifications?source=email", None, {}, 400, "INVALID_SOURCE"),
    ("GET", "/observability/intents/no-such-nonce", None, {}, 404, "NOT_FOUND"),
    ("GET", "/observability/intents/" + "n" * 301, None, {}, 400, "INVALID_NONCE"),
    ("POST", "/v1/beam/dead-letter/no-such-message/requeue", None, {}, 404, "MESSAGE_NOT_FOUND"),
    ("POST", "/v1/beam/dead-letter/ACKED/requeue", None, {}, 409, "INVALID_STATE"),
    ("POST", "/v1/beam/dead-letter/x/requeue", {"force": True}, {}, 400, "INVALID_REQUEST"),
    ("GET", "/v1/beam/dead-letter?limit=501", None, {}, 400, "INVALID_LIMIT"),
    ("GET", "/v1/beam/dead-letter?limit=-1", None, {}, 400, "INVALID_LIMIT"),
    ("GET", "/v1/beam/dead-letter?recipient=" + "r" * 301, None, {}, 400, "INVALID_RECIPIENT"),
    ("POST", "/observability/prune", {"dataset": "intents", "olderThanDays": 30}, {}, 400,
     "PRUNE_CONFIRMATION_REQUIRED"),
    ("POST", "/observability/prune", {"dataset": "intents", "olderThanDays": 30, "confirmDataset": "intents",
                                      "confirmPhrase": "prune everything"}, {}, 400, "PRUNE_CONFIRMATION_REQUIRED"),
    ("POST", "/observability/prune", {"dataset": "bogus", "confirmDataset": "bogus", "confirmPhrase": "prune bogus"},
     {}, 400, "INVALID_PRUNE_DATASET"),
    ("POST", "/observability/prune", {"dataset": 5}, {}, 400, "INVALID_REQUEST"),
    ("POST", "/observability/prune", {"dataset": "intents", "olderThanDays": "30"}, {}, 400, "INVALID_REQUEST"),
    ("POST", "/acl", {}, {}, 400, "INVALID_REQUEST"),
    ("POST", "/acl", {"targetBeamId": 1, "intentType": "quote.request", "allowedFrom": DESK}, {}, 400,
     "INVALID_REQUEST"),
    ("POST", "/acl", {"targetBeamId": "not an id", "intentType": "quote.request", "allowedFrom": DESK}, {}, 400,
     "INVALID_ACL"),
    ("DELETE", "/acl", {"targetBeamId": FINANCE, "intentType": "no.such", "allowedFrom": DESK}, {}, 404, "NOT_FOUND"),
    ("GET", "/acl/nobody@nowhere.beam.directory", None, {}, 404, "NOT_FOUND"),
    ("GET", "/shield/config/nobody@nowhere.beam.directory", None, {}, 404, "NOT_FOUND"),
    ("PATCH", f"/shield/config/{FINANCE}", {"mode": "sometimes"}, {}, 400, "INVALID_SHIELD_CONFIG"),
    ("PATCH", f"/shield/config/{FINANCE}", {"minTrust": 2}, {}, 400, "INVALID_SHIELD_CONFIG"),
    ("PATCH", f"/shield/config/{FINANCE}", {"rateLimit": "fast"}, {}, 400, "INVALID_REQUEST"),
    ("PATCH", f"/shield/config/{FINANCE}", {"beamId": DESK}, {}, 400, "INVALID_REQUEST"),
    ("PATCH", "/shield/config/nobody@nowhere.beam.directory", {"mode": "open"}, {}, 404, "NOT_FOUND"),
    ("POST", "/admin/beta-requests", {}, {}, 400, "INVALID_REQUEST"),
    ("POST", "/admin/beta-requests", {"email": "not-an-address"}, {}, 400, "INVALID_EMAIL"),
    ("PATCH", "/admin/beta-requests/999", {"status": "reviewing"}, {}, 404, "BETA_REQUEST_NOT_FOUND"),
    ("PATCH", "/admin/beta-requests/x", {"status": "reviewing"}, {}, 400, "INVALID_ID"),
    ("POST", "/observability/export", {"datasets": ["secrets"]}, {}, 400, "INVALID_EXPORT"),
    ("POST", "/observability/export", {"datasets": []}, {}, 400, "INVALID_REQUEST"),
    ("POST", "/observability/export", {"datasets": "intents"}, {}, 400, "INVALID_REQUEST"),
    ("POST", "/api/gameday/faults/nope/revert", None, {}, 404, "NOT_FOUND"),
    ("POST", "/api/gameday/faults/99/revert", None, {}, 404, "NOT_FOUND"),
    ("POST", "/api/gameday/faults", {"fault": {"kind": "meteor"}}, {}, 400, "INVALID_FAULT"),
    ("POST", "/api/gameday/faults", {"fault": "agent_disconnect"}, {}, 400, "INVALID_FAULT"),
    ("POST", "/api/gameday/faults", {"fault": {"kind": "agent_disconnect", "agent": "nobody@nowhere.beam.directory"}},
     {}, 400, "INVALID_FAULT"),
    ("POST", "/api/gameday/speed", {"speed": 0}, {}, 400, "INVALID_SPEED"),
    ("POST", "/api/gameday/speed", {"speed": "fast"}, {}, 400, "INVALID_SPEED"),
    ("POST", "/api/gameday/speed", {"speed": 1e9}, {}, 400, "INVALID_SPEED"),
    ("POST", "/api/gameday/speed", {"speed": True}, {}, 400, "INVALID_SPEED"),
    ("POST", "/api/gameday/speed", {"speed": 2, "also": 1}, {}, 400, "INVALID_SPEED"),
    ("POST", "/api/gameday/resume", None, {}, 409, "INVALID_STATE"),
    ("POST", "/api/gameday/finish", {"now": True}, {}, 400, "INVALID_REQUEST"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "code"), BAD,
                         ids=[f"{i}-{b[0]}-{b[-1]}" for i, b in enumerate(BAD)])
def test_a_bad_request_gets_a_beam_error_and_changes_nothing(
        day: tuple[Session, TestClient], method: str, path: str, body: Any, headers: dict[str, str], status: int,
        code: str) -> None:
    session, client = day
    if "ACKED" in path:
        path = path.replace("ACKED", _acked_message(session))
    before = (session.world.inbox.items(), session.world.dead_letter_count(), len(session.world.audit_rows()),
              session.world.acl_entries(), session.world.now, session.finish_requested)
    content = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    response = client.request(method, path, content=content, headers={"content-type": "application/json", **headers})
    assert (response.status_code, response.json()["errorCode"]) == (status, code)
    assert isinstance(response.json()["error"], str) and response.json()["error"]
    after = (session.world.inbox.items(), session.world.dead_letter_count(), len(session.world.audit_rows()),
             session.world.acl_entries(), session.world.now, session.finish_requested)
    assert after == before


def test_the_world_goes_on_after_the_bad_requests(day: tuple[Session, TestClient]) -> None:
    session, _ = day
    refused = [a for a in session.journal.actions if a.outcome.status >= 400]
    assert len(refused) == len(session.journal.actions)  # every bad action is journalled as refused, none done
    session.advance_to(720.0)
    assert session.now == 720.0 and session.world.conservation_problems() == []


def test_an_action_after_the_end_is_refused() -> None:
    session = _session(at=1200.0)
    assert session.over
    with TestClient(build_app(session)) as client:
        response = client.patch("/admin/operator-notifications/1", json={"status": "acknowledged"})
    assert (response.status_code, response.json()["errorCode"]) == (409, "GAMEDAY_OVER")


def test_there_are_forty_bad_request_cases_at_least() -> None:
    assert len(BAD) + 24 >= 40  # plus the 24 unauthorized requests of the token test
    assert len(BAD) >= 40


def test_the_facilitator_injects_a_fault_and_an_operator_fixes_it() -> None:
    session = _session()
    with TestClient(build_app(session)) as client:
        spec = {"name": "desk offline", "kind": "agent_disconnect", "agent": DESK}
        assert client.post("/api/gameday/faults", json={"fault": spec}).json() == {"ok": True, "injected": 1}
        session.advance_to(701.0)
        faults = client.get("/api/gameday").json()["faults"]
        assert faults[1] == {"index": 1, "name": "desk offline", "kind": "agent_disconnect", "at": 700.0,
                             "active": True, "revertible": True}
        assert client.post("/api/gameday/faults/desk offline/revert").json() == {"ok": True, "reverted": 1}
        again = client.post("/api/gameday/faults/1/revert")
        assert (again.status_code, again.json()["errorCode"]) == (409, "INVALID_STATE")
    assert [(entry.event, entry.name) for entry in session.ctx.fault_log] == [
        ("fault_start", "finance offline"), ("fault_start", "desk offline"), ("fault_end", "desk offline")]


def test_a_prune_with_its_guard_satisfied_deletes_and_is_judged() -> None:
    session = _session()
    with TestClient(build_app(session)) as client:
        pruned = client.post("/observability/prune", json={"dataset": "audit", "olderThanDays": 0,
                                                           "confirmDataset": "audit", "confirmPhrase": "prune audit"})
    assert pruned.status_code == 200 and pruned.json()["dataset"] == "audit"
    assert session.journal.actions[0].broke == ["requeue or prune before the evidence was exported"]


def test_metrics_are_the_live_beamdrill_families_with_the_drill_events(day: tuple[Session, TestClient]) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    session, client = day
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert {"beamdrill_bus_attempts", "beamdrill_bus_dead_letters", "beamdrill_intents", "beamdrill_drill_event",
            "beamdrill_delivery_latency_seconds", "beamdrill_directory_up"} <= set(families)
    (dead,) = families["beamdrill_bus_dead_letter_messages"].samples
    assert dead.value == 6.0 and dead.timestamp is None
    events = {(s.labels["kind"], s.labels["name"]): s.value for s in families["beamdrill_drill_event"].samples}
    assert events == {("fault", "finance offline"): 1.0}
