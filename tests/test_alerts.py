"""Beam's six alert rules, the observation store they read and the alert engine, against
beam-model §9.2, §9.3, §12 and requirements §14.22, §14.23, §14.28."""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import simpy

from conftest import open_acl
from simulator.operator.alertrules import FederationPeer, RelatedPartnerRequest, dashboard_href, form_encode, path_encode
from simulator.operator.alerts import AlertEngine
from simulator.beam.audit import AuditLog
from simulator.kernel.events import Event, EventStream
from simulator.operator.inbox import Inbox
from simulator.operator.intentview import stored_latency_ms
from simulator.kernel.units import latency_ms, to_ms
from simulator.operator.observations import Observations
from simulator.kernel.percentile import MsHistogram, js_round, nearest_rank
from simulator.beam.relay import Frame, IntentRow
from simulator import parse_scenario
from simulator.beam.shield import Shield, ShieldRow
from simulator.world import World

SENDER = "procurement@acme.beam.directory"
TARGET = "finance@northwind.beam.directory"
HOUR = 3600.0


class Bench:
    """A standalone observation store, inbox and alert engine (no periodic evaluation) on
    a fresh virtual clock, fed through the store's public API."""

    def __init__(self, window_hours: int = 24, peers: Sequence[Any] = (), related: Any = None) -> None:
        self.env = simpy.Environment()
        self.rows: dict[str, IntentRow] = {}
        self.shield = Shield()
        self.audit = AuditLog()
        self.obs = Observations(self.env, self.rows, self.shield, window_hours=window_hours)
        self.inbox = Inbox(self.env, self.audit)
        self.events: list[Event] = []
        stream = EventStream(lambda: self.env.now)
        stream.subscribe(self.events.append)
        self.engine = AlertEngine(self.env, stream, self.obs, self.inbox, peers=peers, related=related, interval=None)
        self._nonces = 0

    def at(self, seconds: float) -> "Bench":
        if seconds > self.env.now:
            self.env.run(until=seconds)
        return self

    def finish(self, status: str = "acked", latency_ms: int | None = 100, code: str | None = None,
               requested_at: float | None = None, nonce: str | None = None) -> str:
        self._nonces += 1
        nonce = nonce or f"n-{self._nonces:05d}"
        self.obs.record_finished(nonce, SENDER, TARGET, "conversation.message",
                                 self.env.now if requested_at is None else requested_at, status, latency_ms, code)
        return nonce

    def in_flight(self, nonce: str, status: str = "delivered") -> IntentRow:
        row = IntentRow(Frame(SENDER, TARGET, "agent.ping", {}, nonce, self.env.now), "http", self.env.now)
        row.status = status
        self.rows[nonce] = row
        self.obs.admitted(row)
        return row

    def flag(self, decision: str, nonce: str | None = None) -> ShieldRow:
        """A Shield row as the directory reports it: with the row Shield held for its nonce."""
        row = ShieldRow(self.env.now, nonce, SENDER, 0.5, "agent.ping", None, decision, 0.9, 0, ())
        previous = self.shield.latest.get(nonce) if nonce is not None else None
        if nonce is not None:
            self.shield.latest[nonce] = row
        self.shield.rows.append(row)
        self.obs.screened(row, previous)
        return row

    def alerts(self) -> dict[str, Any]:
        return {alert.id: alert for alert in self.engine.evaluate()}


def summary(alerts: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    return {alert_id: (alert.severity, alert.value) for alert_id, alert in alerts.items()}


# -- the percentile and rounding Beam uses (§9.2) ----------------------------------------------


def test_nearest_rank_takes_index_ceil_n_p_minus_1():
    assert nearest_rank([100] * 19 + [6000], 0.95) == 100  # index ceil(19.0) - 1 = 18
    assert nearest_rank([100] * 18 + [6000] * 2, 0.95) == 6000
    assert nearest_rank([5], 0.95) == 5 and nearest_rank([], 0.95) is None
    assert nearest_rank(range(1, 101), 0.95) == 95


def test_histogram_percentile_equals_sorting_under_adds_and_removes():
    rng = random.Random(3)
    histogram, values = MsHistogram(watch=2000), []
    for _ in range(4000):
        if values and rng.random() < 0.3:
            histogram.remove(values.pop(rng.randrange(len(values))))
        else:
            value = rng.choice([rng.randint(0, 2500), rng.randint(0, 400_000), 131_071, 131_072])
            histogram.add(value)
            values.append(value)
        if rng.random() < 0.05:
            for fraction in (0.5, 0.95, 1.0):
                assert histogram.percentile(fraction) == nearest_rank(values, fraction)
    assert histogram.count == len(values) and histogram.total == sum(values)
    assert histogram.under == histogram.below(2000) == sum(1 for value in values if value < 2000)
    assert histogram.percentile_at_least(0.95, 2000) == (nearest_rank(values, 0.95) >= 2000)
    assert histogram.mean() == js_round(sum(values) / len(values), 2)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.integers(0, 3000), st.integers(0, 200_000)), min_size=1, max_size=300),
       watch=st.sampled_from([0, 1, 511, 512, 513, 2000, 131_071, 131_072]), data=st.data())
def test_histogram_kth_equals_sorting_whatever_the_watch(values: list[int], watch: int, data: st.DataObject) -> None:
    histogram = MsHistogram(watch=watch)
    for value in values:
        histogram.add(value)
    k = data.draw(st.integers(0, len(values) - 1))
    assert histogram.kth(k) == sorted(values)[k]


def test_a_latency_is_the_difference_of_the_millisecond_timestamps():
    # Beam stores Date.now() - startedAt beside ISO timestamps with milliseconds: 10912 - 10235,
    # not the 677.5 ms difference rounded (678).
    assert latency_ms(10.2346, 10.9121) == 677
    bench = Bench().at(10.2346)
    row = bench.in_flight("timed", status="delivered")
    bench.at(10.9121)
    row.status, row.finished_at = "acked", bench.env.now
    bench.obs.finished(row)
    assert stored_latency_ms(row) == bench.obs.overview().p95_latency_ms == 677


def test_js_round_rounds_half_towards_positive_infinity():
    assert (js_round(0.5), js_round(2.5), js_round(-2.5), js_round(0.12345, 4)) == (1.0, 3.0, -2.0, 0.1235)


# -- network-error-rate ------------------------------------------------------------------------


def test_error_rate_needs_ten_completed_intents():
    bench = Bench()
    for _ in range(9):
        bench.finish("failed", code="RESULT_ERROR")
    assert "network-error-rate" not in bench.alerts()


@pytest.mark.parametrize("errors, completed, expected", [
    (0, 10, None), (1, 10, ("warning", 0.1)), (2, 10, ("warning", 0.2)), (3, 10, ("critical", 0.3)),
    (6, 25, ("warning", 0.24)), (4, 16, ("critical", 0.25)), (1, 11, None), (10, 10, ("critical", 1.0)),
    (1, 3, None),
])
def test_error_rate_boundaries(errors, completed, expected):
    bench = Bench()
    for index in range(completed):
        bench.finish("failed" if index < errors else "acked", code="RESULT_ERROR")
    alert = bench.alerts().get("network-error-rate")
    assert (None if alert is None else (alert.severity, alert.value)) == expected


def test_error_rate_counts_dead_letters_and_ignores_in_flight_rows():
    bench = Bench()
    for _ in range(8):
        bench.finish("acked")
    bench.finish("dead_letter", code="OFFLINE")
    for index in range(5):
        bench.in_flight(f"open-{index}")
    assert "network-error-rate" not in bench.alerts()  # 9 completed
    bench.finish("failed", code="OFFLINE")
    alert = bench.alerts()["network-error-rate"]
    assert (alert.severity, alert.value, alert.threshold, alert.value_unit, alert.metric) == \
        ("warning", 0.2, 0.1, "ratio", "error_rate")
    assert alert.message == "20% of completed intents failed in the selected window."
    assert alert.severity_reason == "Warning because the network error rate is above the 10% investigation threshold."


def test_error_rate_fields_links_and_samples():
    bench = Bench()
    for index in range(7):
        bench.at(index).finish("acked")
    for index, nonce in enumerate(["fail:a", "fail@b", "fail c"]):
        bench.at(10 + index).finish("failed", code="TIMEOUT", latency_ms=6200, nonce=nonce)
    alert = bench.alerts()["network-error-rate"]
    assert (alert.severity, alert.value, alert.scope, alert.title) == \
        ("critical", 0.3, "network", "Error rate exceeded threshold")
    assert [s.nonce for s in alert.sample_traces] == ["fail c", "fail@b", "fail:a"]
    assert alert.started_at == 12.0
    assert alert.sample_traces[0].view() == {"nonce": "fail c", "from": SENDER, "to": TARGET,
                                              "intentType": "conversation.message", "requestedAt": 12.0,
                                              "status": "failed", "errorCode": "TIMEOUT"}
    assert [(link.label, link.href, link.surface) for link in alert.links] == [
        ("Open failing intents", "/intents?alert=network-error-rate&status=error&hours=24", "intents"),
        ("Open latest failing trace", "/intents/fail%20c?alert=network-error-rate", "trace"),
        ("Open audit for latest failing trace", "/audit?alert=network-error-rate&target=fail+c&hours=24", "audit"),
        ("Open error dashboard", "/errors?alert=network-error-rate", "errors"),
    ]


def test_dashboard_encoding_matches_url_search_params_and_encode_uri_component():
    assert form_encode("a b:c@d/e*f~g-h._") == "a+b%3Ac%40d%2Fe*f%7Eg-h._"
    assert path_encode("a b:c@d/e*f~g!'()") == "a%20b%3Ac%40d%2Fe*f~g!'()"
    assert dashboard_href("/errors", "x", [("alert", "y"), ("hours", 24), ("q", None), ("q2", "")]) == \
        "/errors?alert=y&hours=24"


# -- network-latency-p95 -----------------------------------------------------------------------


@pytest.mark.parametrize("latency, expected", [
    (1999, None), (2000, ("warning", 2000)), (4999, ("warning", 4999)), (5000, ("critical", 5000)),
])
def test_latency_p95_boundaries(latency, expected):
    bench = Bench()
    bench.finish("acked", latency_ms=latency)
    alert = bench.alerts().get("network-latency-p95")
    assert (None if alert is None else (alert.severity, alert.value)) == expected


def test_latency_p95_is_the_nearest_rank_over_every_row_with_a_latency():
    bench = Bench()
    for _ in range(19):
        bench.finish("acked", latency_ms=100)
    bench.finish("failed", code="TIMEOUT", latency_ms=6000)
    bench.finish("failed", code="OFFLINE", latency_ms=None)  # no latency: not counted
    assert "network-latency-p95" not in bench.alerts()  # 20 latencies: index 18 is a 100
    bench.finish("failed", code="TIMEOUT", latency_ms=6000)
    alert = bench.alerts()["network-latency-p95"]  # 21 latencies: index 19 is a 6000
    assert (alert.severity, alert.value, alert.value_unit, alert.threshold) == ("critical", 6000, "ms", 2000)
    assert alert.message == "p95 intent latency is 6000ms."
    assert len(alert.sample_traces) == 2 and all(s.error_code == "TIMEOUT" for s in alert.sample_traces)


def test_latency_samples_are_the_newest_slow_rows_of_any_status():
    bench = Bench()
    slow = [bench.at(t).finish("acked", latency_ms=3000) for t in (1, 2, 3)]
    failed = bench.at(4).finish("failed", code="TIMEOUT", latency_ms=2500)
    bench.at(5).finish("acked", latency_ms=1999)
    alert = bench.alerts()["network-latency-p95"]
    assert [s.nonce for s in alert.sample_traces] == [failed, slow[2], slow[1]]
    assert alert.started_at == 4.0


# -- network-in-flight-backlog -----------------------------------------------------------------


def test_backlog_counts_rows_in_flight_for_more_than_15_minutes_exactly():
    bench = Bench()
    bench.in_flight("stuck-1")
    bench.at(899.999)
    assert "network-in-flight-backlog" not in bench.alerts()
    bench.at(900.0)  # exactly 15 minutes: not older than 15 minutes
    assert "network-in-flight-backlog" not in bench.alerts()
    bench.at(900.001)
    alert = bench.alerts()["network-in-flight-backlog"]
    assert (alert.severity, alert.value, alert.threshold, alert.value_unit) == ("warning", 1, 1, "count")
    assert alert.message == "1 intents have remained in-flight for more than 15 minutes."
    assert [s.nonce for s in alert.sample_traces] == ["stuck-1"] and alert.started_at == 0.0


def test_backlog_turns_critical_at_five_and_ignores_the_window():
    bench = Bench(window_hours=1)
    rows = [bench.at(index).in_flight(f"stuck-{index}") for index in range(5)]
    bench.at(4 + 900.001)
    assert summary(bench.alerts())["network-in-flight-backlog"] == ("critical", 5)
    bench.at(30 * HOUR)  # far outside the 1 h window: still counted
    alert = bench.alerts()["network-in-flight-backlog"]
    assert (alert.severity, alert.value) == ("critical", 5)
    assert [s.nonce for s in alert.sample_traces] == ["stuck-4", "stuck-3", "stuck-2"]
    for row in rows[:2]:
        row.status, row.finished_at, row.error_code = "failed", bench.env.now, "TIMEOUT"
        bench.obs.finished(row)
    assert summary(bench.alerts())["network-in-flight-backlog"] == ("warning", 3)


def test_backlog_in_a_world_with_the_as_coded_retry_defect():
    """§14.22: as coded, a retried nonce sticks in `received` and raises the backlog alert
    15 minutes after the retry."""
    agents = [{"id": SENDER}, {"id": TARGET, "connected": False}]
    world = World(parse_scenario({"name": "backlog", "agents": agents, "acl": open_acl(agents),
                                  "fidelity": "as-coded", "retention": {"finished_rows": None}}), seed=1)
    world.alerts.stop()

    def send(at: float) -> Any:
        yield world.env.timeout(at - world.env.now)
        world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, "stuck-nonce", world.env.now), "http")

    world.env.process(send(1.0))
    world.run(until=10.0)
    assert world.directory.rows["stuck-nonce"].status == "failed"  # OFFLINE
    world.env.process(send(200.0))
    world.run(until=201.0)
    assert world.directory.rows["stuck-nonce"].status == "received"
    world.run(until=1100.0)
    assert "network-in-flight-backlog" not in {a.id for a in world.alerts.evaluate()}
    world.run(until=1100.1)
    alerts = {a.id: a for a in world.alerts.evaluate()}
    assert summary(alerts)["network-in-flight-backlog"] == ("warning", 1)
    assert alerts["network-in-flight-backlog"].sample_traces[0].status == "received"


# -- federation-stale-peers --------------------------------------------------------------------


def test_no_peers_no_federation_alert():
    assert "federation-stale-peers" not in Bench().at(100).alerts()


@pytest.mark.parametrize("peers, expected", [
    ([{"directory_url": "https://a", "last_seen": 0.0}], None),                       # exactly 24 h
    ([{"directory_url": "https://a", "last_seen": -0.001}], ("warning", 1)),          # 24 h + 1 ms
    ([{"directory_url": "https://a", "last_seen": None}], ("warning", 1)),            # never seen
    ([{"directory_url": "https://a", "last_seen": 86_000.0, "status": "paused"}], ("warning", 1)),
    ([{"directory_url": "https://a"}, {"directory_url": "https://b", "status": "revoked",
                                         "last_seen": 86_400.0}], ("critical", 2)),
])
def test_stale_peer_rule(peers, expected):
    bench = Bench(peers=peers).at(24 * HOUR)
    alert = bench.alerts().get("federation-stale-peers")
    assert (None if alert is None else (alert.severity, alert.value)) == expected
    if alert is not None:
        assert (alert.scope, alert.started_at, alert.sample_traces) == ("federation", 24 * HOUR, ())
        assert [link.href for link in alert.links] == [
            "/federation?alert=federation-stale-peers",
            "/audit?alert=federation-stale-peers&q=federation&hours=24",
        ]


def test_peers_can_be_replaced():
    bench = Bench()
    bench.engine.set_peers([FederationPeer(directory_url="https://a")])
    assert "federation-stale-peers" in bench.alerts()
    bench.engine.set_peers([])
    assert "federation-stale-peers" not in bench.alerts()


# -- shield-review-load ------------------------------------------------------------------------


@pytest.mark.parametrize("rejects, holds, expected", [
    (2, 0, None), (3, 0, ("warning", 3)), (4, 0, ("warning", 4)), (5, 0, ("critical", 5)),
    (0, 4, None), (0, 5, ("warning", 5)), (2, 4, None), (2, 5, ("warning", 7)), (5, 9, ("critical", 14)),
])
def test_shield_review_load_boundaries(rejects, holds, expected):
    bench = Bench()
    for index in range(rejects):
        bench.flag("reject", None if index % 2 else f"r-{index}")
    for index in range(holds):
        bench.flag("hold", f"h-{index}")
    bench.flag("pass", "p-1")
    alert = bench.alerts().get("shield-review-load")
    assert (None if alert is None else (alert.severity, alert.value)) == expected
    if alert is not None:
        assert alert.message == f"{rejects} rejects and {holds} holds were recorded in the selected window."


def test_a_newer_shield_row_for_a_nonce_replaces_the_older_one():
    bench = Bench()
    for index in range(3):
        bench.flag("reject", f"r-{index}")
    assert summary(bench.alerts())["shield-review-load"] == ("warning", 3)
    bench.flag("reject", "r-0")  # retried: still one row for r-0
    assert summary(bench.alerts())["shield-review-load"] == ("warning", 3)
    bench.flag("pass", "r-1")  # passed on retry: r-1's reject is deleted
    assert "shield-review-load" not in bench.alerts()


def test_shield_rows_leave_the_window_by_creation_time():
    bench = Bench(window_hours=1)
    for index in range(5):
        bench.flag("reject", f"r-{index}")
    bench.at(HOUR)
    assert summary(bench.alerts())["shield-review-load"] == ("critical", 5)  # created_at >= now - 1 h
    bench.at(HOUR + 0.001)
    assert "shield-review-load" not in bench.alerts()


def test_shield_samples_are_intent_rows_of_the_newest_flagged_nonces():
    bench = Bench()
    for index in range(5):
        bench.at(index)
        bench.in_flight(f"held-{index}")
        bench.flag("hold", f"held-{index}")
    bench.at(10).flag("reject", None)  # no nonce: never a sample
    alert = bench.alerts()["shield-review-load"]
    assert [s.nonce for s in alert.sample_traces] == ["held-4", "held-3", "held-2"]
    assert alert.started_at == 4.0
    assert [link.href for link in alert.links] == [
        "/audit?alert=shield-review-load&q=shield&hours=24",
        "/intents/held-4?alert=shield-review-load",
        "/alerts?alert=shield-review-load&hours=24",
    ]


def test_shield_rejections_through_the_world_count_a_retried_nonce_once():
    agents = [{"id": SENDER}, {"id": TARGET}]
    world = World(parse_scenario({"name": "shield", "agents": agents, "acl": []}), seed=1)  # no ACL: FORBIDDEN
    for index in range(4):
        world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, f"denied-{index}", 0.0), "http")
    world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, "denied-0", 0.0), "http")
    assert summary({a.id: a for a in world.alerts.evaluate()})["shield-review-load"] == ("warning", 4)
    world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, "denied-4", 0.0), "http")
    alert = {a.id: a for a in world.alerts.evaluate()}["shield-review-load"]
    assert (alert.severity, alert.value, alert.sample_traces) == ("critical", 5, ())  # rejected: no intent rows
    assert world.directory.security.shield.recorded["reject"] == 6


# -- error-hotspot-<code> ----------------------------------------------------------------------


@pytest.mark.parametrize("count, expected", [(4, None), (5, "warning"), (9, "warning"), (10, "critical")])
def test_hotspot_boundaries(count, expected):
    bench = Bench()
    for index in range(count):
        bench.at(index).finish("failed", code="TIMEOUT", latency_ms=None)
    alert = bench.alerts().get("error-hotspot-timeout")
    assert (None if alert is None else alert.severity) == expected
    if alert is not None:
        assert (alert.value, alert.threshold, alert.value_unit, alert.scope) == (count, 5, "count", "agent")
        assert (alert.title, alert.message) == ("Error hotspot: TIMEOUT", f"{count} intents failed with TIMEOUT.")
        assert alert.started_at == count - 1


def test_hotspot_without_a_code_is_unknown():
    bench = Bench()
    for index in range(5):
        bench.at(index).finish("failed", code=None)
    alert = bench.alerts()["error-hotspot-unknown"]
    assert (alert.severity, alert.value, alert.title) == ("warning", 5, "Error hotspot: UNKNOWN")
    # Beam's samples query matches error_code = 'UNKNOWN' literally: rows with no code never match.
    assert alert.sample_traces == () and alert.started_at == 4.0
    assert [link.href for link in alert.links] == [
        "/intents?alert=error-hotspot-unknown&status=error&q=UNKNOWN&hours=24",
        "/errors?alert=error-hotspot-unknown",
    ]


def test_hotspot_takes_the_top_code_and_a_tie_goes_to_the_code_seen_first():
    bench = Bench()
    for index in range(5):
        bench.at(10 + index).finish("failed", code="TIMEOUT")
    for index in range(5):
        bench.at(20 + index).finish("failed", code="OFFLINE", requested_at=index)  # requested earlier
    assert "error-hotspot-offline" in bench.alerts() and "error-hotspot-timeout" not in bench.alerts()
    bench.at(30).finish("failed", code="TIMEOUT")
    assert summary(bench.alerts())["error-hotspot-timeout"] == ("warning", 6)


def test_rows_leave_the_window_by_requested_at():
    bench = Bench(window_hours=1)
    for index in range(10):
        bench.at(index).finish("failed", code="TIMEOUT", latency_ms=6200)
    bench.at(HOUR + 4.0)  # rows requested at 4..9 are inside, 0..3 outside
    assert summary(bench.alerts()) == {"network-latency-p95": ("critical", 6200),
                                       "error-hotspot-timeout": ("warning", 6)}
    assert bench.obs.overview().error_count == 6
    bench.at(HOUR + 9.001)
    assert bench.alerts() == {}
    assert bench.obs.latencies.count == 0


def test_a_row_finishing_late_counts_by_its_requested_at():
    bench = Bench(window_hours=1)
    bench.at(2 * HOUR)
    bench.finish("acked", latency_ms=5000, requested_at=HOUR - 1)  # requested before the window
    bench.finish("acked", latency_ms=5000, requested_at=HOUR + 1)
    overview = bench.obs.overview()
    assert (overview.success_count, overview.p95_latency_ms) == (1, 5000)


# -- ordering and the alert record ----------------------------------------------------------------


def test_alerts_are_ordered_critical_first_keeping_creation_order():
    bench = Bench(peers=[{"directory_url": "https://a"}])
    for index in range(12):
        bench.finish("acked" if index < 10 else "failed", code="FORBIDDEN", latency_ms=None)  # rate 2/12
    for index in range(5):
        bench.flag("reject", f"r-{index}")
    for index in range(8):
        bench.finish("failed", code="FORBIDDEN", latency_ms=None)
    ids = [(alert.id, alert.severity) for alert in bench.engine.evaluate()]
    assert ids == [("network-error-rate", "critical"), ("shield-review-load", "critical"),
                   ("error-hotspot-forbidden", "critical"), ("federation-stale-peers", "warning")]


def test_alert_record_has_beams_field_names_on_the_wire():
    bench = Bench()
    for _ in range(5):
        bench.finish("failed", code="OFFLINE", latency_ms=None)
    view = bench.engine.evaluate()[0].view()
    assert list(view) == ["id", "severity", "title", "scope", "message", "metric", "value", "threshold",
                          "valueUnit", "startedAt", "thresholdExplanation", "severityReason", "links",
                          "sampleTraces", "relatedPartnerRequests", "notificationId", "notificationStatus",
                          "notificationOwner", "notificationNextAction"]
    assert view["thresholdExplanation"] == ("Beam raises this alert when the same error code occurs at least "
                                            "five times in the selected window.")


def test_related_partner_requests_come_through_the_lookup():
    class Request:
        def __init__(self, request_id: int, nonce: str) -> None:
            self.id, self.company, self.workflow_type, self.status = request_id, "Northwind", "handoff", "active"
            self.proof_intent_nonce = nonce

    requests = [Request(1, "fire-drill-proof-9"), Request(2, "elsewhere")]
    asked: list[tuple[str, ...]] = []

    def lookup(nonces: Sequence[str]) -> list[Request]:
        asked.append(tuple(nonces))
        return [r for r in requests if r.proof_intent_nonce in nonces]

    bench = Bench(related=lookup)
    for index in range(10):
        bench.at(index * 60).finish("failed", code="TIMEOUT", latency_ms=6200, nonce=f"fire-drill-proof-{index}")
    alert = {a.id: a for a in bench.engine.evaluate()}["network-error-rate"]
    assert alert.related_partner_requests == (RelatedPartnerRequest(
        id=1, company="Northwind", workflow_type="handoff", stage="active", href="/beta-requests?id=1"),)
    assert asked[0] == ("fire-drill-proof-9", "fire-drill-proof-8", "fire-drill-proof-7")


# -- §14.28: the fire drill --------------------------------------------------------------------


def fire_drill_world() -> World:
    agents = [{"id": SENDER, "connected": False},
              {"id": TARGET, "latency": "6.2s", "failure_rate": 1.0, "failure_code": "TIMEOUT"}]
    return World(parse_scenario({"name": "fire-drill", "agents": agents, "acl": open_acl(agents)}), seed=1)


def test_fire_drill_gives_exactly_three_critical_alerts():
    """§12 and §14.28: ten TIMEOUT failures at 6200 ms, one minute apart, for
    conversation.message procurement → finance@northwind."""
    world = fire_drill_world()

    def drill() -> Any:
        for index in range(10):
            world.directory.relay(Frame(SENDER, TARGET, "conversation.message", {"message": "proof"},
                                        f"fire-drill-proof-{index}", world.env.now), "http")
            yield world.env.timeout(60)

    world.env.process(drill())
    world.run(until=600)
    alerts = world.alerts.evaluate()
    assert [(a.id, a.severity, a.value) for a in alerts] == [
        ("network-error-rate", "critical", 1.0),
        ("network-latency-p95", "critical", 6200),
        ("error-hotspot-timeout", "critical", 10),
    ]
    for alert in alerts:
        assert [s.nonce for s in alert.sample_traces] == [f"fire-drill-proof-{i}" for i in (9, 8, 7)]
        assert alert.started_at == 540.0
        assert alert.sample_traces[0].error_code == "TIMEOUT"
    row = world.directory.rows["fire-drill-proof-9"]
    assert (row.status, latency_ms(row.requested_at, row.finished_at)) == ("failed", 6200)


def test_fire_drill_through_the_store_api_gives_the_same_alerts():
    bench = Bench()
    for index in range(10):
        bench.at(index * 60 + 6.2).finish("failed", code="TIMEOUT", latency_ms=6200, requested_at=index * 60,
                                          nonce=f"fire-drill-proof-{index}")
    assert [(a.id, a.severity) for a in bench.engine.evaluate()] == [
        ("network-error-rate", "critical"), ("network-latency-p95", "critical"), ("error-hotspot-timeout", "critical")]


# -- the engine on virtual time ----------------------------------------------------------------


def test_engine_records_fired_changed_and_cleared_with_events():
    bench = Bench(window_hours=1)
    for _ in range(100):
        bench.finish("acked", latency_ms=None)  # keeps the error rate under 10%
    for index in range(5):
        bench.at(index).finish("failed", code="TIMEOUT", latency_ms=None)
    bench.engine.evaluate()
    for index in range(5):
        bench.at(10 + index).finish("failed", code="TIMEOUT", latency_ms=None)
    bench.engine.evaluate()
    bench.at(HOUR + 20)
    bench.engine.evaluate()
    kinds = [(t.time, t.kind, t.alert_id, t.severity, t.previous_severity, t.value) for t in bench.engine.transitions]
    assert kinds == [(4.0, "alert_fired", "error-hotspot-timeout", "warning", None, 5),
                     (14.0, "alert_changed", "error-hotspot-timeout", "critical", "warning", 10),
                     (HOUR + 20, "alert_cleared", "error-hotspot-timeout", "critical", None, 10)]
    assert [(e.time, e.kind, e.data) for e in bench.events] == [
        (4.0, "alert_fired", {"id": "error-hotspot-timeout", "severity": "warning", "value": 5}),
        (14.0, "alert_changed", {"id": "error-hotspot-timeout", "severity": "critical", "value": 10,
                                 "previous": "warning"}),
        (HOUR + 20, "alert_cleared", {"id": "error-hotspot-timeout", "severity": "critical", "value": 10}),
    ]
    assert bench.engine.firing() == {} and bench.engine.since == {}
    assert list(bench.engine.known_ids) == ["error-hotspot-timeout"]


def test_engine_evaluates_every_15_virtual_seconds_in_a_world():
    world = fire_drill_world()
    seen: list[tuple[float, str]] = []
    world.subscribe(lambda event: seen.append((event.time, event.kind)) if event.kind.startswith("alert_") else None)
    for index in range(5):
        world.directory.relay(Frame(SENDER, TARGET, "conversation.message", {"message": "x"}, f"n-{index}", 0.0),
                              "http")
    world.run(until=44)
    assert world.alerts.evaluated_at == 30.0
    # The five failures finish at 6.2 s; the tick at 15 s is the first to see them.
    assert seen == [(15.0, "alert_fired"), (15.0, "alert_fired")]
    assert world.alerts.firing() == {"network-latency-p95": "critical", "error-hotspot-timeout": "warning"}
    assert world.alerts.since == {"network-latency-p95": 15.0, "error-hotspot-timeout": 15.0}


def test_engine_does_not_read_while_the_directory_is_down():
    world = fire_drill_world()
    world.directory.stop("test")
    world.run(until=100)
    assert world.alerts.evaluated_at is None
    world.directory.start()
    world.run(until=115)
    assert world.alerts.evaluated_at == 105.0


# -- the store against Beam's SQL, on random worlds ---------------------------------------------


def brute_force(world: World, window_hours: int) -> dict[str, Any]:
    """What Beam's overview, errors and backlog queries give over the directory's rows."""
    now_ms = to_ms(world.now)
    since = now_ms - window_hours * 3_600_000
    rows = [row for row in world.directory.rows.values() if to_ms(row.requested_at) >= since]
    done = [row for row in rows if row.status in ("acked", "failed", "dead_letter")]
    # Beam stores no latency for OFFLINE and for a WebSocket send that threw (a reset link,
    # at the instant of the relay); restart recovery and timeouts have one.
    latencies = [latency_ms(row.requested_at, row.finished_at) for row in done
                 if row.finished_at is not None and row.error_code != "OFFLINE"
                 and not (row.error_code == "DELIVERY_FAILED" and row.finished_at == row.requested_at)]
    codes: dict[str, int] = {}
    for row in done:
        if row.status != "acked":
            codes[row.error_code or "UNKNOWN"] = codes.get(row.error_code or "UNKNOWN", 0) + 1
    backlog = [row for row in world.directory.rows.values()
               if row.status not in ("acked", "failed", "dead_letter") and to_ms(row.requested_at) < now_ms - 900_000]
    return {"success": sum(1 for row in done if row.status == "acked"),
            "error": sum(1 for row in done if row.status != "acked"),
            "p95": nearest_rank(latencies, 0.95), "count": len(latencies), "codes": codes,
            "backlog": sorted(row.nonce for row in backlog)}


@pytest.mark.parametrize("seed", range(6))
def test_store_matches_beams_queries_on_random_worlds(seed):
    rng = random.Random(seed)
    names = [f"a{index}@prop.beam" for index in range(4)]
    agents = [{"id": name, "latency": {"dist": "exponential", "mean": rng.choice([0.05, 2.0, 8.0, 45.0])},
               "failure_rate": rng.choice([0.0, 0.2]), "failure_code": rng.choice(["RESULT_ERROR", "TIMEOUT"]),
               "connected": index != 3 or rng.random() < 0.5} for index, name in enumerate(names)]
    routes = [{"name": f"r{index}", "from": rng.choice(names), "to": rng.choice(names), "intent": "agent.ping",
               "via": rng.choice(["bus", "http", "ws"]), "rate": rng.choice([0.2, 1.0])} for index in range(3)]
    faults = [{"kind": "agent_disconnect", "agent": names[0], "at": 600, "duration": 900},
              {"kind": "directory_restart", "at": 2 * HOUR + 17.3, "downtime": 20},
              {"kind": "link", "link": f"directory->{names[1]}", "toxic": "reset", "toxicity": 0.5,
               "at": 3 * HOUR + 100, "duration": 600}]
    world = World(parse_scenario({
        "name": "prop", "duration": 6 * HOUR, "agents": agents, "acl": open_acl(agents, ["agent.ping"]),
        "traffic": {"routes": routes},
        "faults": faults, "retention": {"finished_rows": None}, "bus": {"rate_limit_per_min": 600},
        "fidelity": rng.choice(["documented", "as-coded"]),
    }), seed)
    world.observations = Observations(world.env, world.directory.rows, world.directory.security.shield,
                                      window_hours=1)
    world.directory.observer = world.observations
    for until in (1800.0, 3 * HOUR + 0.5, 5 * HOUR + 7.25):
        world.run(until=until)
        obs = world.observations
        obs.advance()
        expected = brute_force(world, 1)
        assert (obs.successes, obs.errors) == (expected["success"], expected["error"])
        assert (obs.latencies.percentile(0.95), obs.latencies.count) == (expected["p95"], expected["count"])
        assert obs.codes == expected["codes"]
        assert sorted(row.nonce for row in obs.backlog()) == expected["backlog"]


def test_alerts_do_not_change_the_run():
    """The alert engine reads only: the same scenario and seed give the same summary and
    events with the engine evaluating or stopped (§ DESIGN determinism). Its own events
    are left out: alert transitions, and the inbox upserts its reads make (inbox_updated)."""
    def run(stop: bool) -> tuple[Any, list[Any]]:
        world = fire_drill_world()
        if stop:
            world.alerts.stop()
        events: list[Any] = []
        world.subscribe(lambda event: events.append(event)
                        if not event.kind.startswith(("alert_", "inbox_updated")) else None)
        for index in range(10):
            world.directory.relay(Frame(SENDER, TARGET, "conversation.message", {"message": "x"}, f"n-{index}", 0.0),
                                  "http")
        return world.run(until=300).model_dump(), events

    assert run(False) == run(True)


def test_window_hours_is_validated():
    with pytest.raises(ValueError):
        Observations(simpy.Environment(), {}, window_hours=0)
    with pytest.raises(ValueError):
        Observations(simpy.Environment(), {}, window_hours=2161)
    assert math.isclose(Bench(window_hours=2160).obs.window_ms, 2160 * 3_600_000)
