"""The operator inbox against beam-model §9.3 (notifications), §9.4 and requirements
§14.24, §14.25."""

from __future__ import annotations

from typing import Any

import pytest
import simpy

from conftest import open_acl
from simulator.operator.alerts import NEXT_ACTIONS, AlertEngine
from simulator.beam.audit import AuditLog
from simulator.kernel.events import EventStream
from simulator.operator.inbox import AUDIT_ACTION, Inbox
from simulator.operator.observations import Observations
from simulator.beam.relay import Frame
from simulator import parse_scenario
from simulator.world import World

SENDER = "procurement@acme.beam.directory"
TARGET = "finance@northwind.beam.directory"


class Bench:
    """An inbox with an alert engine over a store fed directly, on a fresh virtual clock."""

    def __init__(self) -> None:
        self.env = simpy.Environment()
        self.audit = AuditLog()
        self.obs = Observations(self.env, {}, window_hours=1)
        self.inbox = Inbox(self.env, self.audit)
        self.engine = AlertEngine(self.env, EventStream(lambda: self.env.now), self.obs, self.inbox, interval=None)
        self.count = 0

    def at(self, seconds: float) -> "Bench":
        if seconds > self.env.now:
            self.env.run(until=seconds)
        return self

    def fail(self, times: int, code: str = "TIMEOUT") -> None:
        for _ in range(times):
            self.count += 1
            self.obs.record_finished(f"n-{self.count}", SENDER, TARGET, "agent.ping", self.env.now, "failed", None, code)

    def succeed(self, times: int) -> None:
        for _ in range(times):
            self.count += 1
            self.obs.record_finished(f"n-{self.count}", SENDER, TARGET, "agent.ping", self.env.now, "acked", 10)


def item_state(inbox: Inbox, key: str) -> tuple[Any, ...]:
    item = inbox.by_key(key)
    assert item is not None
    return item.status, item.acknowledged_at, item.acted_at, item.actor, item.owner, item.next_action


# -- §14.24: critical alerts create one item each ---------------------------------------------


def test_a_critical_alert_creates_exactly_one_new_item_at_the_first_read():
    bench = Bench()
    bench.succeed(200)
    bench.fail(10)
    assert len(bench.inbox) == 0  # nobody has read the alerts yet
    bench.at(5)
    alerts = {a.id: a for a in bench.engine.evaluate()}
    assert alerts["error-hotspot-timeout"].severity == "critical"
    item = bench.inbox.by_key("critical-alert:error-hotspot-timeout")
    assert item is not None
    assert (item.source_type, item.status, item.severity, item.alert_id, item.created_at) == \
        ("critical_alert", "new", "critical", "error-hotspot-timeout", 5.0)
    assert (item.title, item.message, item.href) == ("Error hotspot: TIMEOUT", "10 intents failed with TIMEOUT.",
                                                     "/alerts?alert=error-hotspot-timeout")
    assert item.details == {"metric": "error_code_count", "value": 10, "threshold": 5, "valueUnit": "count"}
    assert alerts["error-hotspot-timeout"].notification_id == item.id
    assert alerts["error-hotspot-timeout"].notification_status == "new"
    for _ in range(3):
        bench.engine.evaluate()
    assert len(bench.inbox) == 1 and bench.inbox.summary().by_source == {"beta_request": 0, "critical_alert": 1}


def test_warnings_never_create_items():
    bench = Bench()
    bench.succeed(200)
    bench.fail(9)
    assert {a.id: a.severity for a in bench.engine.evaluate()} == {"error-hotspot-timeout": "warning"}
    assert len(bench.inbox) == 0


def test_rereading_keeps_the_status_and_the_item_outlives_the_alert():
    bench = Bench()
    bench.succeed(200)
    bench.fail(10)
    bench.engine.evaluate()
    item = bench.inbox.by_key("critical-alert:error-hotspot-timeout")
    assert bench.inbox.patch(item.id, {"status": "acknowledged", "owner": "ops@acme"}, role="operator",
                             actor="ops@acme").ok
    bench.at(60).fail(2)  # still critical, new message
    bench.engine.evaluate()
    again = bench.inbox.by_key("critical-alert:error-hotspot-timeout")
    assert (again.id, again.status, again.owner, again.message, again.updated_at) == \
        (item.id, "acknowledged", "ops@acme", "12 intents failed with TIMEOUT.", 60.0)
    bench.at(2 * 3600)
    assert bench.engine.evaluate() == []  # the alert cleared
    assert bench.inbox.by_key("critical-alert:error-hotspot-timeout").status == "acknowledged"
    assert len(bench.inbox) == 1


def test_an_item_left_new_stays_new_and_a_returning_alert_reuses_it():
    bench = Bench()
    bench.succeed(200)
    bench.fail(10)
    bench.engine.evaluate()
    first = bench.inbox.by_key("critical-alert:error-hotspot-timeout")
    bench.at(2 * 3600)
    bench.engine.evaluate()
    bench.succeed(200)
    bench.fail(10)
    bench.engine.evaluate()
    again = bench.inbox.by_key("critical-alert:error-hotspot-timeout")
    assert (again.id, again.status, again.created_at) == (first.id, "new", first.created_at)


def test_each_critical_alert_has_its_own_item_with_its_own_next_action():
    bench = Bench()
    bench.fail(10)  # error rate 1.0 and the TIMEOUT hotspot, both critical
    bench.engine.evaluate()
    keys = [item.source_key for item in bench.inbox.items()]
    assert sorted(keys) == ["critical-alert:error-hotspot-timeout", "critical-alert:network-error-rate"]
    assert bench.inbox.by_key("critical-alert:network-error-rate").next_action == NEXT_ACTIONS["network-error-rate"]
    assert bench.inbox.by_key("critical-alert:error-hotspot-timeout").next_action.startswith(
        "Open the latest TIMEOUT trace")


def test_later_reads_keep_the_operators_next_action():
    bench = Bench()
    bench.fail(10)
    bench.engine.evaluate()
    item = bench.inbox.by_key("critical-alert:network-error-rate")
    bench.inbox.patch(item.id, {"nextAction": "Page the finance on-call."}, role="operator")
    bench.engine.evaluate()
    assert bench.inbox.get(item.id).next_action == "Page the finance on-call."


def test_the_world_reads_alerts_every_15_seconds_and_creates_items():
    agents = [{"id": SENDER, "connected": False},
              {"id": TARGET, "latency": "6.2s", "failure_rate": 1.0, "failure_code": "TIMEOUT"}]
    world = World(parse_scenario({"name": "inbox", "agents": agents, "acl": open_acl(agents)}), seed=1)
    for index in range(10):
        world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, f"n-{index}", 0.0), "http")
    world.run(until=14.9)
    assert len(world.inbox) == 0
    world.run(until=15.1)  # the tick at 15 s is the first read
    assert sorted(item.source_key for item in world.inbox.items()) == [
        "critical-alert:error-hotspot-timeout", "critical-alert:network-error-rate",
        "critical-alert:network-latency-p95"]
    assert {item.created_at for item in world.inbox.items()} == {15.0}


# -- §14.25: statuses and timestamps -------------------------------------------------------------


def make_item(bench_env: simpy.Environment | None = None) -> tuple[simpy.Environment, Inbox, AuditLog, int]:
    env = bench_env or simpy.Environment()
    audit = AuditLog()
    inbox = Inbox(env, audit)
    item = inbox.upsert("critical_alert", "critical-alert:network-error-rate", severity="critical",
                        title="Error rate exceeded threshold", message="25% of completed intents failed.",
                        href="/alerts?alert=network-error-rate", alert_id="network-error-rate",
                        default_next_action="Open the latest failing trace.")
    return env, inbox, audit, item.id


def advance(env: simpy.Environment, seconds: float) -> None:
    env.run(until=env.now + seconds)


def test_every_transition_is_allowed_with_beams_timestamps():
    env, inbox, audit, item_id = make_item()
    key = "critical-alert:network-error-rate"
    advance(env, 10)
    assert inbox.patch(item_id, {"status": "acknowledged"}, role="operator", actor="ana").ok
    assert item_state(inbox, key) == ("acknowledged", 10.0, None, "ana", None, "Open the latest failing trace.")
    advance(env, 10)
    inbox.patch(item_id, {"status": "acted"}, role="operator", actor="ben")
    assert item_state(inbox, key)[:4] == ("acted", 10.0, 20.0, "ben")  # acknowledged_at kept
    advance(env, 10)
    inbox.patch(item_id, {"status": "acted"}, role="admin", actor="ben")
    assert item_state(inbox, key)[:4] == ("acted", 10.0, 30.0, "ben")  # acted again: acted_at is now
    advance(env, 10)
    inbox.patch(item_id, {"status": "acknowledged"}, role="operator", actor="cy")
    assert item_state(inbox, key)[:4] == ("acknowledged", 10.0, None, "cy")  # acted_at cleared
    advance(env, 10)
    inbox.patch(item_id, {"status": "new"}, role="operator", actor="dee")
    assert item_state(inbox, key)[:4] == ("new", None, None, None)  # → new clears acknowledged_at and actor
    advance(env, 10)
    inbox.patch(item_id, {"status": "acted"}, role="operator", actor="eve")
    assert item_state(inbox, key)[:4] == ("acted", 60.0, 60.0, "eve")  # new → acted sets both
    advance(env, 10)
    inbox.patch(item_id, {"status": "new"}, role="operator", actor="fay")
    assert item_state(inbox, key)[:4] == ("new", None, None, None)
    assert inbox.get(item_id).updated_at == 70.0
    assert [row.details["status"] for row in audit.rows] == ["acknowledged", "acted", "acted", "acknowledged",
                                                              "new", "acted", "new"]


def test_owner_and_next_action_edits_are_audited():
    env, inbox, audit, item_id = make_item()
    advance(env, 5)
    result = inbox.patch(item_id, {"owner": "  ops@acme  ", "nextAction": "Confirm the route, then requeue."},
                         role="operator", actor="ops@acme")
    assert result.status == 200 and result.body["ok"] is True
    assert result.body["notification"]["owner"] == "ops@acme"
    assert result.body["notification"]["nextAction"] == "Confirm the route, then requeue."
    # Status stays new, so Beam's rule for `new` applies: no acknowledged_at, no actor.
    assert item_state(inbox, "critical-alert:network-error-rate") == \
        ("new", None, None, None, "ops@acme", "Confirm the route, then requeue.")
    (row,) = audit.rows
    assert (row.time, row.action, row.target) == (5.0, AUDIT_ACTION, str(item_id))
    assert row.details == {"actor": "ops@acme", "role": "operator", "sourceType": "critical_alert",
                           "sourceKey": "critical-alert:network-error-rate", "status": "new", "owner": "ops@acme",
                           "nextAction": "Confirm the route, then requeue."}
    inbox.patch(item_id, {"owner": "", "nextAction": None}, role="operator")
    assert item_state(inbox, "critical-alert:network-error-rate")[4:] == (None, None)
    assert audit.counts[AUDIT_ACTION] == 2


@pytest.mark.parametrize("changes, status, code", [
    ({}, 400, "EMPTY_PATCH"),
    ({"note": "hello"}, 400, "EMPTY_PATCH"),
    ({"status": "closed"}, 400, "INVALID_NOTIFICATION_STATUS"),
    ({"status": None}, 400, "INVALID_NOTIFICATION_STATUS"),
    ({"status": 2, "owner": "x"}, 400, "INVALID_NOTIFICATION_STATUS"),
])
def test_bad_patches_are_errors_not_exceptions_and_change_nothing(changes, status, code):
    _, inbox, audit, item_id = make_item()
    before = inbox.get(item_id)
    result = inbox.patch(item_id, changes, role="operator")
    assert (result.status, result.error_code, result.ok) == (status, code, False)
    assert inbox.get(item_id) == before and len(audit.rows) == 0


def test_viewers_may_not_patch_and_unknown_ids_are_404():
    _, inbox, audit, item_id = make_item()
    refused = inbox.patch(item_id, {"status": "acted"}, role="viewer")
    assert (refused.status, refused.error_code) == (403, "FORBIDDEN")
    missing = inbox.patch(999, {"status": "acted"}, role="admin")
    assert (missing.status, missing.error_code) == (404, "NOT_FOUND")
    assert inbox.get(item_id).status == "new" and len(audit.rows) == 0


def test_status_is_read_like_beam_trimmed_and_lower_case():
    _, inbox, _, item_id = make_item()
    assert inbox.patch(item_id, {"status": " Acknowledged "}, role="operator").ok
    assert inbox.get(item_id).status == "acknowledged"


# -- listing and summary -------------------------------------------------------------------------


def test_list_orders_by_status_then_updated_seconds_then_id():
    env = simpy.Environment()
    inbox = Inbox(env, AuditLog())

    def add(key: str) -> int:
        return inbox.upsert("beta_request", key, severity="warning", title=key, message=key).id

    a, b, c, d, e = (add(key) for key in "abcde")  # all at t=0
    advance(env, 1.2)
    inbox.patch(b, {"status": "acted"}, role="operator")
    advance(env, 0.5)  # t=1.7: the same second as b's update
    inbox.patch(c, {"status": "acknowledged"}, role="operator")
    inbox.patch(d, {"status": "acted"}, role="operator")
    advance(env, 1.0)
    inbox.upsert("beta_request", "a", severity="warning", title="a", message="a again")  # a updated at t=2.7
    order = [item.id for item in inbox.items()]
    assert order == [a, e, c, d, b]  # new (a newer than e), acknowledged, acted (same second: higher id first)
    assert [item.id for item in inbox.items(status="acted")] == [d, b]
    assert inbox.items(source="critical_alert") == []
    summary = inbox.summary()
    assert (summary.total, summary.by_status, summary.by_source) == (
        5, {"new": 2, "acknowledged": 1, "acted": 2}, {"beta_request": 5, "critical_alert": 0})
    assert summary.view() == {"total": 5, "byStatus": {"new": 2, "acknowledged": 1, "acted": 2},
                              "bySource": {"beta_request": 5, "critical_alert": 0}}


def test_list_limit_defaults_to_200_and_is_capped_at_5000():
    env = simpy.Environment()
    inbox = Inbox(env, AuditLog())
    for index in range(5001):
        inbox.upsert("beta_request", f"beta-request:{index}", severity="warning", title="t", message="m")
    assert len(inbox.items()) == 200
    assert len(inbox.items(limit=10_000)) == 5000
    assert len(inbox.items(limit=0)) == 1
    assert inbox.count("new") == 5001


# -- the upsert seam partner requests use -----------------------------------------------------------


def test_upsert_keeps_status_unless_reset_and_keeps_given_fields():
    env = simpy.Environment()
    inbox = Inbox(env, AuditLog())
    first = inbox.upsert("beta_request", "beta-request:7", severity="warning", title="Hosted beta request from X",
                         message="handoff", href="/beta-requests?id=7", owner="ana", next_action="Call X.",
                         beta_request_id=7, details={"stage": "new"})
    inbox.sync_status(first.id, "acted", actor="ana")
    advance(env, 3)
    again = inbox.upsert("beta_request", "beta-request:7", severity="warning", title="Hosted beta request from X",
                         message="handoff · 8 agents", details={"stage": "active"})
    assert (again.id, again.status, again.owner, again.next_action, again.href, again.beta_request_id) == \
        (first.id, "acted", "ana", "Call X.", "/beta-requests?id=7", 7)
    assert (again.message, again.details, again.updated_at, again.acted_at) == \
        ("handoff · 8 agents", {"stage": "active"}, 3.0, 0.0)
    reset = inbox.upsert("beta_request", "beta-request:7", severity="warning", title="t", message="m",
                         reset_status=True)
    assert (reset.status, reset.acknowledged_at, reset.acted_at, reset.actor) == ("new", None, None, None)
    with pytest.raises(ValueError):
        inbox.sync_status(first.id, "closed", actor="ana")  # type: ignore[arg-type]


# -- every write to updated_at is an event ---------------------------------------------------------


def test_every_write_sets_updated_at_says_why_and_is_an_event():
    """Beam sets updated_at on every write, an upsert that changes nothing visible included;
    the inbox says which write set it, and emits each as an inbox_updated event."""
    env = simpy.Environment()
    events = EventStream(lambda: env.now)
    seen: list[dict[str, Any]] = []
    events.subscribe(lambda event: seen.append(event.to_json()))
    inbox = Inbox(env, AuditLog(), events)
    key = "critical-alert:network-error-rate"

    def read_alerts() -> int:
        return inbox.refresh("critical_alert", key, severity="critical", title="t", message="m", reason="alert read")

    item_id = read_alerts()
    assert inbox.updated_by(item_id) == "created"
    advance(env, 15)
    read_alerts()
    assert (inbox.get(item_id).updated_at, inbox.updated_by(item_id)) == (15.0, "alert read")
    advance(env, 15)
    assert inbox.patch(item_id, {"status": "acted", "owner": "dana"}, role="operator").ok
    assert (inbox.get(item_id).updated_at, inbox.updated_by(item_id)) == (30.0, "patch")
    advance(env, 15)
    read_alerts()  # the alert is still critical: the read moves updated_at past the patch
    inbox.sync_status(item_id, "acknowledged", actor="ana")
    advance(env, 15)
    inbox.upsert("critical_alert", key, severity="critical", title="t", message="m")
    assert (inbox.get(item_id).updated_at, inbox.updated_by(item_id)) == (60.0, "upsert")
    assert inbox.updated_by(99) is None
    assert seen == [
        {"t": 0, "kind": "inbox_updated", "nonce": None, "key": key, "id": 1, "status": "new", "by": "created"},
        {"t": 15, "kind": "inbox_updated", "nonce": None, "key": key, "id": 1, "status": "new", "by": "alert read"},
        {"t": 30, "kind": "inbox_updated", "nonce": None, "key": key, "id": 1, "status": "acted", "by": "patch"},
        {"t": 45, "kind": "inbox_updated", "nonce": None, "key": key, "id": 1, "status": "acted", "by": "alert read"},
        {"t": 45, "kind": "inbox_updated", "nonce": None, "key": key, "id": 1, "status": "acknowledged", "by": "sync"},
        {"t": 60, "kind": "inbox_updated", "nonce": None, "key": key, "id": 1, "status": "acknowledged",
         "by": "upsert"},
    ]
    assert "updated_by" not in inbox.get(item_id).view() and "updatedBy" not in inbox.get(item_id).view()


def test_the_alert_engine_upserts_as_an_alert_read():
    bench = Bench()
    bench.fail(10)
    bench.engine.evaluate()
    bench.at(15)
    bench.engine.evaluate()
    item = bench.inbox.by_key("critical-alert:network-error-rate")
    assert item is not None
    assert (item.created_at, item.updated_at, bench.inbox.updated_by(item.id)) == (0.0, 15.0, "alert read")
