"""Exports, the dead-letter page and prune against beam-model §9.5, §9.6 and requirement
§14.26: exports are read-only, prune is admin-only behind the exact phrase, and a prune
keeps conservation.

Times are virtual seconds; ``DAY`` is 86400 s.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, NamedTuple

import pytest
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from conftest import open_acl, without_limits
from simulator.beam.busrows import MESSAGE_FIELDS, BusMessage
from simulator.operator.deadletters import DEAD_LETTER_COLUMNS, HINTS, hint_kind
from simulator.kernel.events import Event
from simulator.operator.exports import DATASETS
from simulator.beam.relay import ROW_FIELDS, Frame
from simulator import parse_scenario
from simulator.world import World

DAY = 86400.0
H = 3600.0
SENDER = "sender@test.beam.directory"
FAST = "fast@test.beam.directory"
FAILER = "failer@test.beam.directory"      # every answer fails RESULT_ERROR
ASYNC = "async@test.beam.directory"        # accepts asynchronously (the directory row is acked)
SLOW = "slow@test.beam.directory"          # answers after 3 days, and the directory waits: in flight
OFFLINE = "offline@test.beam.directory"    # never connected
OFFLINE_2 = "offline2@test.beam.directory"
INTENT_HEADER = "nonce,from,to,intent,origin,status,errorCode,latencyMs,requestedAt,finishedAt"
SECRET = "sk-live-SECRET-123456"

AGENTS: list[dict[str, Any]] = [
    {"id": SENDER, "connected": False}, {"id": FAST, "latency": 0},
    {"id": FAILER, "latency": 0, "failure_rate": 1.0}, {"id": ASYNC, "latency": 0, "async_accept": 1.0},
    {"id": SLOW, "latency": "3d"},
    {"id": OFFLINE, "connected": False}, {"id": OFFLINE_2, "connected": False},
]


def make_world(limits: bool = True, **extra: Any) -> tuple[World, list[Event]]:
    """The agents above, ACL open for agent.ping and conversation.message, rows kept
    forever, every event captured."""
    base: dict[str, Any] = ({"agents": AGENTS, "acl": open_acl(AGENTS, ["agent.ping", "conversation.message"])}
                            if limits else {**without_limits(AGENTS), "acl": open_acl(AGENTS, ["agent.ping"])})
    world = World(parse_scenario({"name": "exports-test", **base, "retention": {"finished_rows": None},
                                  "directory": {**base.get("directory", {}), "http_result_timeout": "3d"}, **extra}),
                  seed=1)
    events: list[Event] = []
    world.subscribe(events.append)
    return world, events


def run_to(world: World, t: float) -> None:
    if t > world.env.now:
        world.env.run(until=t)


def relay(world: World, nonce: str, to: str = FAST, at: float | None = None) -> None:
    if at is not None:
        run_to(world, at)
    world.directory.relay(Frame(SENDER, to, "agent.ping", {}, nonce, world.env.now), "http")


def export(world: World, dataset: str, format: str = "json", **kwargs: Any) -> tuple[dict[str, Any], str]:
    result = world.exports.export(dataset, format, **kwargs)
    assert result.status == 200, result
    return result.body, result.body["text"]


def json_rows(world: World, dataset: str, **kwargs: Any) -> dict[str, Any]:
    document = json.loads(export(world, dataset, "json", **kwargs)[1])
    assert isinstance(document, dict)
    return document


# -- exports never change data ----------------------------------------------------------------


def snapshot(world: World) -> Any:
    """Everything an export could touch: the summary and every row of every store."""
    security = world.directory.security
    return (
        world.env.now,
        world.summary().model_dump_json(),
        [(nonce, tuple(getattr(row, name) for name in ROW_FIELDS)) for nonce, row in world.directory.rows.items()],
        [(key, tuple(getattr(msg, name) for name in MESSAGE_FIELDS)) for key, msg in world.bus.by_id.items()],
        list(world.bus.by_nonce), list(security.audit.rows), dict(security.audit.counts), list(security.shield.rows),
        dict(security.shield.latest), dict(world.directory.retention.compacted), dict(world.bus.retention.compacted),
        world.partners.all(),
    )


class _Alert(BaseModel):
    """An alert model as the alert engine might have one: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)
    id: str
    severity: str
    value_unit: str


def test_exports_and_previews_never_change_data():
    agents = [*AGENTS, {"id": "flaky@test.beam.directory", "failure_rate": 0.3, "latency": "2s"}]
    routes = [
        {"name": "ws", "from": FAST, "to": "flaky@test.beam.directory", "intent": "agent.ping", "via": "ws", "rate": 0.5},
        {"name": "http", "from": SENDER, "to": FAILER, "intent": "agent.ping", "via": "http", "rate": 0.05},
        {"name": "bus", "from": FAST, "to": OFFLINE, "intent": "agent.ping", "via": "bus", "rate": 0.01},
        {"name": "async", "from": FAST, "to": ASYNC, "intent": "agent.ping", "via": "bus", "rate": 0.01},
    ]
    world = World(parse_scenario({"name": "read-only", **without_limits(agents), "traffic": {"routes": routes},
                                  "retention": {"finished_rows": None}}), seed=3)
    world.subscribe(lambda event: None)
    world.bus.send(FAST, OFFLINE_2, "agent.ping", {"token": SECRET}, nonce="secret-1")
    world.env.run(until=1800)
    rid = world.partners.create("ops@x.example").body["request"]["id"]
    world.partners.patch(rid, {"owner": "dana"}, role="operator")
    assert world.bus.ledger.counts["dead_letter"] > 0 and len(world.directory.rows) > 100
    before = snapshot(world)
    texts = []
    alerts = [{"id": "network-error-rate", "severity": "critical"}, _Alert(id="x", severity="warning", value_unit="ms")]
    for dataset in DATASETS:
        for format in ("json", "csv", "ndjson"):
            for kwargs in ({}, {"hours": 0.1, "limit": 3}, {"hours": 10_000, "limit": 10_000}):
                texts.append(export(world, dataset, format, alerts=alerts, **kwargs)[1])
        world.exports.rows(dataset, alerts=alerts)
    for format in ("json", "csv", "ndjson"):
        texts.append(world.exports.export_dead_letters(format).body["text"])
    world.exports.dead_letters()
    for dataset in ("intents", "traces", "audit", "shield"):
        assert world.pruner.preview(dataset, 0.01, role="admin").ok
        refused = world.pruner.prune(dataset, 1, confirm_dataset=dataset, confirm_phrase="prune", role="admin")
        assert refused.error_code == "PRUNE_CONFIRMATION_REQUIRED"
    assert snapshot(world) == before
    assert not any(SECRET in text for text in texts)  # exports carry no payloads
    world.run(until=2400)  # and the world runs on, conservation intact


# -- formats ---------------------------------------------------------------------------------


def test_intents_export_in_every_format():
    world, _ = make_world()
    relay(world, "x-acked", FAST, at=10)
    relay(world, "x-failed", FAILER, at=20)
    relay(world, "x-delivered", SLOW, at=30)
    relay(world, "x-offline", OFFLINE, at=35)
    run_to(world, 40)
    body, text = export(world, "intents", "csv")
    assert (body["contentType"], body["filename"], body["count"]) == ("text/csv", "beam-intents-t40.csv", 4)
    assert text.splitlines()[0] == INTENT_HEADER
    assert text.splitlines()[1:] == [
        f"x-offline,{SENDER},{OFFLINE},agent.ping,http,failed,OFFLINE,,35.0,35.0",  # Beam stores no latency
        f"x-delivered,{SENDER},{SLOW},agent.ping,http,delivered,,,30.0,",
        f"x-failed,{SENDER},{FAILER},agent.ping,http,failed,RESULT_ERROR,0,20.0,20.0",
        f"x-acked,{SENDER},{FAST},agent.ping,http,acked,,0,10.0,10.0",
    ]
    body, text = export(world, "intents", "ndjson")
    assert body["contentType"] == "application/x-ndjson"
    lines = text.splitlines()
    assert len(lines) == 4 and text.endswith("\n")
    assert [json.loads(line)["nonce"] for line in lines] == ["x-offline", "x-delivered", "x-failed", "x-acked"]
    assert json.loads(lines[2]) == {"nonce": "x-failed", "from": SENDER, "to": FAILER, "intent": "agent.ping",
                                    "origin": "http", "status": "failed", "errorCode": "RESULT_ERROR",
                                    "latencyMs": 0, "requestedAt": 20.0, "finishedAt": 20.0}
    document = json_rows(world, "intents")
    assert {key: document[key] for key in ("dataset", "generatedAt", "windowHours", "limit", "count")} == {
        "dataset": "intents", "generatedAt": 40.0, "windowHours": 168.0, "limit": 500, "count": 4}
    assert [row["nonce"] for row in document["rows"]] == ["x-offline", "x-delivered", "x-failed", "x-acked"]
    assert [row["nonce"] for row in json_rows(world, "errors")["rows"]] == ["x-offline", "x-failed"]


def test_audit_federation_and_alerts_exports():
    world, _ = make_world()
    rid = world.partners.create("ops@x.example").body["request"]["id"]
    run_to(world, 10)
    world.partners.patch(rid, {"owner": "dana"}, role="operator", actor="dana")
    _, text = export(world, "audit", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == "time,action,target,details"
    assert [(row["time"], row["action"], row["target"]) for row in rows] == [
        ("10.0", "admin.beta_request.updated", "beta-request:1")]
    assert json.loads(rows[0]["details"])["actor"] == "dana"
    assert export(world, "federation", "csv")[1] == "peerId,url,status,lastSeen\n"
    assert export(world, "federation", "ndjson")[1] == ""
    assert json_rows(world, "federation")["rows"] == []

    class Ref(NamedTuple):
        id: str
        severity: str

    alerts: list[Any] = [
        {"id": "network-error-rate", "severity": "critical", "title": "Network error rate is high", "value": 1.0,
         "threshold": 0.1, "valueUnit": "ratio", "sampleTraces": ["a", "b"]},
        _Alert(id="network-latency-p95", severity="warning", value_unit="ms"),
        Ref("error-hotspot-timeout", "critical"),
    ]
    _, text = export(world, "alerts", "csv", alerts=alerts)
    assert text.splitlines() == [
        "id,severity,title,scope,message,value,threshold,valueUnit,startedAt",
        "network-error-rate,critical,Network error rate is high,,,1.0,0.1,ratio,",
        "network-latency-p95,warning,,,,,,ms,",
        "error-hotspot-timeout,critical,,,,,,,",
    ]
    assert json.loads(export(world, "alerts", "ndjson", alerts=alerts)[1].splitlines()[0])["sampleTraces"] == ["a", "b"]
    assert json_rows(world, "alerts", alerts=alerts, limit=1)["count"] == 1


def test_window_default_seven_days_and_clamped_to_one_hour_to_ninety_days():
    world, _ = make_world()
    relay(world, "w-old", at=1)
    relay(world, "w-edge", at=3600)
    relay(world, "w-new", at=7000)
    run_to(world, 7200)
    assert [r["nonce"] for r in json_rows(world, "intents", hours=1)["rows"]] == ["w-new", "w-edge"]  # ≥ now − 1 h
    clamped = json_rows(world, "intents", hours=0.25)
    assert (clamped["windowHours"], clamped["count"]) == (1.0, 2)
    assert json_rows(world, "intents")["count"] == 3
    assert json_rows(world, "intents", hours=10**6)["windowHours"] == 2160.0
    run_to(world, 7 * DAY + 2)  # w-old (t=1) is now just outside the default 7 days
    assert [r["nonce"] for r in json_rows(world, "intents")["rows"]] == ["w-new", "w-edge"]


def test_limit_default_500_max_5000():
    world, _ = make_world(limits=False)
    for index in range(600):
        relay(world, f"lim-{index:03d}")
    run_to(world, 1)
    assert len(world.directory.rows) == 600
    default = json_rows(world, "intents")
    assert (default["limit"], default["count"]) == (500, 500)
    assert json_rows(world, "intents", limit=5000)["count"] == 600
    clamped = json_rows(world, "intents", limit=10_000)
    assert (clamped["limit"], clamped["count"]) == (5000, 600)
    assert json_rows(world, "intents", limit=0)["count"] == 1
    assert len(export(world, "intents", "ndjson", limit=7)[1].splitlines()) == 7
    assert len(export(world, "intents", "csv", limit=7)[1].splitlines()) == 8  # header + 7


@pytest.mark.parametrize(("args", "kwargs", "status", "code"), [
    (("traces", "json"), {}, 400, "INVALID_EXPORT_DATASET"),
    (("intents", "xml"), {}, 400, "INVALID_EXPORT_FORMAT"),
    (("intents", "json"), {"hours": "24"}, 400, "INVALID_EXPORT_WINDOW"),
    (("intents", "json"), {"limit": True}, 400, "INVALID_EXPORT_LIMIT"),
    (("intents", "json"), {"role": "guest"}, 403, "FORBIDDEN"),
    (("intents", "json"), {"role": "viewer"}, 200, None),
    (("intents", "json"), {"role": "operator"}, 200, None),
    (("intents", "json"), {"role": "admin"}, 200, None),
])
def test_export_input_errors(args: tuple[str, str], kwargs: dict[str, Any], status: int, code: str | None):
    world, _ = make_world()
    result = world.exports.export(*args, **kwargs)
    assert (result.status, result.error_code) == (status, code)


# -- dead letters ------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "kind"), [
    ("OFFLINE", "offline"), ("Agent is offline", "offline"),
    ("RATE_LIMITED", "rate"), ("Rate limit exceeded", "rate"), ("HTTP 429 RATE_LIMIT_EXCEEDED", "rate"),
    ("FORBIDDEN", "forbidden-acl"), ("denied by ACL", "forbidden-acl"),
    ("TIMEOUT", "default"), ("Delivery timeout (30s)", "default"), ("Connection error: socket hang up", "default"),
    ("accurate generated oracle", "default"), (None, "default"),
])
def test_requeue_hint_is_chosen_by_the_error_text(text: str | None, kind: str):
    assert hint_kind(text) == kind


def test_dead_letter_page_figures_order_and_export():
    world, _ = make_world()
    assert world.exports.dead_letters().view() == {"count": 0, "uniqueSenders": 0, "uniqueRecipients": 0,
                                                   "maxRetryCount": 0, "tone": "neutral", "rows": []}
    # offline: OFFLINE is retryable, 5 attempts, dead letter with retry_count 4 (§14.4)
    world.bus.send(FAST, OFFLINE, "agent.ping", {"token": SECRET}, nonce="dl-offline")
    # no ACL row for escalation.request: 403 FORBIDDEN, dead-lettered at once, retry_count 0
    run_to(world, 60)
    world.bus.send(FAILER, FAST, "escalation.request", {}, nonce="dl-forbidden")
    run_to(world, 20 * 60)
    page = world.exports.dead_letters()
    assert (page.count, page.unique_senders, page.unique_recipients, page.max_retry_count, page.tone) == (
        2, 2, 2, 4, "critical")
    # newest failure first: the offline one dead-lettered minutes after the forbidden one
    assert [(row["nonce"], row["retry_count"], row["error"], row["hint_kind"]) for row in page.rows] == [
        ("dl-offline", 4, "agent_offline", "offline"),
        ("dl-forbidden", 0, f"ACL denied intent escalation.request from {FAILER} to {FAST}", "forbidden-acl")]
    assert page.rows[1]["hint"] == HINTS["forbidden-acl"]
    assert [row["nonce"] for row in world.exports.dead_letters(sender=FAILER).rows] == ["dl-forbidden"]
    result = world.exports.export_dead_letters("csv")
    lines = result.body["text"].splitlines()
    assert lines[0] == ",".join(DEAD_LETTER_COLUMNS) and len(lines) == 3
    document = json.loads(world.exports.export_dead_letters("json").body["text"])
    assert {key: document[key] for key in ("count", "uniqueSenders", "uniqueRecipients", "maxRetryCount", "tone")} == {
        "count": 2, "uniqueSenders": 2, "uniqueRecipients": 2, "maxRetryCount": 4, "tone": "critical"}
    assert len(world.exports.export_dead_letters("ndjson").body["text"].splitlines()) == 2
    assert all(SECRET not in world.exports.export_dead_letters(f).body["text"] for f in ("json", "csv", "ndjson"))
    assert world.exports.export_dead_letters("xml").error_code == "INVALID_EXPORT_FORMAT"


# -- prune ------------------------------------------------------------------------------------


def aged_world(**extra: Any) -> tuple[World, list[Event]]:
    """Rows at t=0 (acked, failed, delivered/in flight), an audit row at t=10, then a day
    and two hours later one fresh acked row; ``now`` = 93600, so 1 day cuts at 7200."""
    world, events = make_world(**extra)
    world.audit_transitions()
    relay(world, "old-acked", FAST)
    relay(world, "old-failed", FAILER)
    relay(world, "old-delivered", SLOW)
    rid = world.partners.create("ops@x.example").body["request"]["id"]
    run_to(world, 10)
    world.partners.patch(rid, {"owner": "dana", "proofIntentNonce": "old-acked"}, role="operator")
    relay(world, "new-acked", FAST, at=DAY + 2 * H)
    run_to(world, DAY + 2 * H + 1)
    return world, events


def would_delete(world: World, dataset: str, days: float | None = 1) -> int:
    result = world.pruner.preview(dataset, days, role="admin")
    assert result.ok, result
    return int(result.body["wouldDelete"])


def test_prune_preview_counts():
    world, _ = aged_world()
    assert {dataset: would_delete(world, dataset) for dataset in ("intents", "traces", "audit", "shield")} == {
        "intents": 2,  # old-acked, old-failed; old-delivered is in flight and never pruned
        "traces": 0,   # documented mode keeps no trace stages
        "audit": 1,    # the beta-request patch at t=10
        "shield": 3,   # one Shield row per old relay
    }
    body = world.pruner.preview("intents", None, role="admin").body
    assert (body["olderThanDays"], body["wouldDelete"]) == (30.0, 0)  # default retention 30 days
    body = world.pruner.preview("intents", 0.25, role="admin").body
    assert (body["olderThanDays"], body["cutoff"], body["wouldDelete"]) == (1.0, 7201.0, 2)  # minimum 1 day


def test_prune_intents_keeps_conservation_and_audits():
    world, events = aged_world()
    result = world.pruner.prune("intents", 1, confirm_dataset="intents", confirm_phrase="prune intents", role="admin")
    assert (result.status, result.body["deleted"], result.body["tracesDeleted"]) == (200, 2, 0)
    assert sorted(world.directory.rows) == ["new-acked", "old-delivered"]
    assert world.directory.retention.compacted == {"acked": 1, "failed": 1}
    assert world.directory.ledger.counts["acked"] == 2 and world.directory.ledger.counts["failed"] == 1
    assert world.conservation_problems() == []
    assert world.summary().conservation == []  # includes the transition audit's recount
    assert sorted(e.nonce or "" for e in events if e.kind == "forgotten") == ["old-acked", "old-failed"]
    prune_rows = [row for row in world.directory.security.audit.rows if row.action == "observability.prune"]
    assert [(row.time, row.target, row.details["olderThanDays"], row.details["deleted"]) for row in prune_rows] == [
        (DAY + 2 * H + 1, "intents", 1.0, 2)]
    assert would_delete(world, "intents") == 0
    # the linked proof intent was pruned: partner health no longer sees it
    req = world.partners.get(1)
    assert req is not None and world.partners.proof(req) is None
    relay(world, "old-acked", FAST)  # the nonce is free again, as after retention
    world.run(until=DAY + 3 * H)
    assert world.directory.rows["old-acked"].status == "acked"


def test_prune_audit_and_shield():
    world, _ = aged_world()
    result = world.pruner.prune("audit", 1, confirm_dataset="audit", confirm_phrase="prune audit", role="admin")
    assert (result.status, result.body["deleted"]) == (200, 1)
    assert [(row.action, row.target) for row in world.directory.security.audit.rows] == [
        ("observability.prune", "audit")]  # the prune's own row is written after it
    assert world.directory.security.audit.counts["admin.beta_request.updated"] == 1  # totals ever written stay
    result = world.pruner.prune("shield", 1, confirm_dataset="shield", confirm_phrase="prune shield", role="admin")
    assert (result.status, result.body["deleted"]) == (200, 3)
    assert [row.time for row in world.directory.security.shield.rows] == [DAY + 2 * H]
    assert would_delete(world, "audit") == 0 and would_delete(world, "shield") == 0
    assert world.conservation_problems() == []


def test_prune_traces_and_intents_also_remove_traces_in_as_coded_mode():
    world, _ = aged_world(quirks={"retry_trace_guard": True})
    assert would_delete(world, "traces") == 3  # every old row keeps its newest trace stage
    result = world.pruner.prune("traces", 1, confirm_dataset="traces", confirm_phrase="prune traces", role="admin")
    assert result.body["deleted"] == 3
    assert world.directory.rows["old-acked"].trace_newest is None
    assert world.directory.rows["new-acked"].trace_newest is not None

    world, _ = aged_world(quirks={"retry_trace_guard": True})
    result = world.pruner.prune("intents", 1, confirm_dataset="intents", confirm_phrase="prune intents", role="admin")
    # two rows and their two trace stages, and the in-flight row's old trace stage
    assert (result.body["deleted"], result.body["tracesDeleted"]) == (2, 3)
    assert world.directory.rows["old-delivered"].trace_newest is None
    assert world.conservation_problems() == []


@pytest.mark.parametrize("role", ["viewer", "operator", "guest", ""])
def test_prune_and_preview_are_admin_only(role: str):
    world, _ = aged_world()
    preview = world.pruner.preview("intents", 1, role=role)
    prune = world.pruner.prune("intents", 1, confirm_dataset="intents", confirm_phrase="prune intents", role=role)
    assert [(r.status, r.error_code) for r in (preview, prune)] == [(403, "FORBIDDEN"), (403, "FORBIDDEN")]
    assert would_delete(world, "intents") == 2


@pytest.mark.parametrize(("confirm_dataset", "confirm_phrase"), [
    (None, None),
    ("intents", None),
    (None, "prune intents"),
    ("audit", "prune intents"),
    ("intents", "prune audit"),
    ("intents", "prune"),
    ("intents", "Prune intents"),
    ("intents", "prune  intents"),
    ("intents", "prune intents "),
    ("Intents", "prune intents"),
])
def test_prune_needs_the_exact_confirmation(confirm_dataset: str | None, confirm_phrase: str | None):
    world, _ = aged_world()
    result = world.pruner.prune("intents", 1, confirm_dataset=confirm_dataset, confirm_phrase=confirm_phrase,
                                role="admin")
    assert (result.status, result.error_code) == (400, "PRUNE_CONFIRMATION_REQUIRED")
    assert would_delete(world, "intents") == 2
    assert "observability.prune" not in world.directory.security.audit.counts


@pytest.mark.parametrize(("dataset", "days", "code"), [
    ("errors", 1, "INVALID_PRUNE_DATASET"),
    ("intents", "7", "INVALID_RETENTION_DAYS"),
    ("intents", float("nan"), "INVALID_RETENTION_DAYS"),
])
def test_prune_input_errors(dataset: str, days: Any, code: str):
    world, _ = aged_world()
    for result in (world.pruner.preview(dataset, days, role="admin"),
                   world.pruner.prune(dataset, days, confirm_dataset=dataset, confirm_phrase=f"prune {dataset}",
                                      role="admin")):
        assert (result.status, result.error_code) == (400, code)


def test_prune_then_retention_never_counts_a_row_twice():
    world, _ = aged_world(retention={"finished_rows": "2d"})
    result = world.pruner.prune("intents", 1, confirm_dataset="intents", confirm_phrase="prune intents", role="admin")
    assert result.body["deleted"] == 2
    relay(world, "old-acked", FAST)  # a new row under a pruned nonce, finished in a later bucket
    assert world.directory.rows["old-acked"].requested_at == DAY + 2 * H + 1
    for index in range(3):  # later rows finish, so retention's buckets rotate past the pruned rows
        relay(world, f"later-{index}", FAST, at=3 * DAY + (index + 3) * H)
    run_to(world, 3 * DAY + 6 * H)
    # pruned: old-acked, old-failed; then retention (2 d after finishing): new-acked and
    # the second old-acked; the first old-acked is skipped although its bucket comes up
    assert world.directory.retention.compacted == {"acked": 3, "failed": 1}
    assert sorted(world.directory.rows) == ["later-0", "later-1", "later-2", "old-delivered"]
    assert world.conservation_problems() == [] and world.summary().conservation == []


class _Store:
    """A stand-in for another store's traces: entries at virtual times."""

    def __init__(self, times: list[float]) -> None:
        self.times = times

    def count_before(self, cutoff: float) -> int:
        return sum(1 for t in self.times if t < cutoff)

    def delete_before(self, cutoff: float) -> int:
        kept = [t for t in self.times if t >= cutoff]
        deleted, self.times = len(self.times) - len(kept), kept
        return deleted


def test_registered_trace_stores_are_pruned_with_traces_and_intents():
    world, _ = aged_world()
    store = _Store([0.0, 5.0, DAY + 2 * H])
    world.pruner.register("traces", store)
    assert would_delete(world, "traces") == 2
    result = world.pruner.prune("intents", 1, confirm_dataset="intents", confirm_phrase="prune intents", role="admin")
    assert (result.body["deleted"], result.body["tracesDeleted"]) == (2, 2)
    assert store.times == [DAY + 2 * H]
