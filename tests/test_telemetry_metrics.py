"""Prometheus metrics of a world: naming, bounded labels, exact values, the OpenMetrics
backfill file, and (integration) a real Prometheus serving the backfilled blocks."""

from __future__ import annotations

import bisect
import io
import math
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Generator, Iterator, NamedTuple

import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from conftest import IncidentRun, without_limits
from promserver import PromAPI, binaries, serve
from simulator.kernel.events import Event
from simulator.operator.inbox import STATUSES
from simulator.beam.relay import Frame
from simulator import load_scenario, parse_scenario
from simulator.telemetry.histogram import LATENCY_BUCKETS, LatencyHistogram
from simulator.telemetry.metrics import FAMILIES, WorldCollector, latency_histogram, world_registry
from simulator.telemetry.recorder import MetricsRecorder
from simulator.telemetry.openmetrics import SampleStore
from simulator import Summary, World
from test_world import worlds

ROOT = Path(__file__).resolve().parent.parent
INCIDENT_UNTIL = 3 * 3600.0
#: Every label name the metrics may carry; each has a small, fixed or scenario-bounded set of values.
LABELS = {"path", "state", "outcome", "decision", "layer", "code", "component", "alert_id", "severity", "status", "le"}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+) (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

SeriesId = tuple[str, tuple[tuple[str, str], ...]]


class Parsed(NamedTuple):
    """An OpenMetrics file as the tests read it."""

    families: dict[str, dict[str, str]]  # name → {"type", "help", "unit"}
    series: dict[SeriesId, list[tuple[float, float]]]  # (sample name, labels) → [(timestamp, value)]
    family_of: dict[SeriesId, str]
    lines: list[str]


def parse(text: str) -> Parsed:
    """Parse the writer's output strictly: descriptors before samples, families contiguous,
    every sample with a value and a timestamp, ``# EOF`` last and only last."""
    lines = text.split("\n")
    assert lines[-1] == "" and lines[-2] == "# EOF", "the file must end with '# EOF\\n'"
    families: dict[str, dict[str, str]] = {}
    series: dict[SeriesId, list[tuple[float, float]]] = {}
    family_of: dict[SeriesId, str] = {}
    current: str | None = None
    closed: set[str] = set()
    for line in lines[:-2]:
        if line.startswith("# "):
            _, keyword, name, *rest = line.split(" ", 3)
            assert keyword in ("HELP", "TYPE", "UNIT"), line
            if name != current:
                assert name not in families, f"family {name} appears twice"
                if current is not None:
                    closed.add(current)
                current = name
                families[name] = {}
            assert keyword.lower() not in families[name], f"{keyword} twice for {name}"
            families[name][keyword.lower()] = rest[0] if rest else ""
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value, stamp = match.groups()
        assert current is not None and "type" in families[current], f"sample before its family's TYPE: {line}"
        assert name == current or name[len(current):] in ("_total", "_bucket", "_count", "_sum"), \
            f"{name} outside its family {current}"
        key = (name, tuple(LABEL.findall(labels or "")))
        assert family_of.setdefault(key, current) == current
        series.setdefault(key, []).append((float(stamp), float(value)))
    return Parsed(families, series, family_of, lines)


def final(parsed: Parsed) -> dict[SeriesId, float]:
    """The last value of every series."""
    return {key: points[-1][1] for key, points in parsed.series.items()}


def expected_final(world: World, summary: Summary) -> dict[SeriesId, float]:
    """Every series except the latency histogram, as the run's own Summary states it."""
    expected: dict[SeriesId, float] = {}
    for path, totals in summary.paths.items():
        for state, count in totals.states.items():
            expected[("beamdrill_intents", (("path", path), ("state", state)))] = count
        for outcome, count in totals.buckets.items():
            expected[("beamdrill_intent_outcomes", (("path", path), ("outcome", outcome)))] = count
        expected[("beamdrill_intents_accepted_total", (("path", path),))] = totals.accepted
    bus, directory = summary.bus, summary.directory
    expected[("beamdrill_bus_attempts_total", ())] = bus.attempts
    expected[("beamdrill_bus_retries_total", ())] = bus.retries
    expected[("beamdrill_bus_queued_messages", ())] = bus.stats["queued"]
    expected[("beamdrill_bus_dead_letter_messages", ())] = bus.dead_letters
    expected[("beamdrill_bus_dead_letters_total", ())] = bus.dead_letters_total
    expected[("beamdrill_bus_requeues_total", ())] = bus.requeues
    for decision, count in directory.shield_decisions.items():
        expected[("beamdrill_shield_decisions_total", (("decision", decision),))] = count
    for code, count in directory.failures_by_code.items():
        expected[("beamdrill_directory_failures_total", (("code", code),))] = count
    expected[("beamdrill_restarts_total", (("component", "bus"),))] = bus.restarts
    expected[("beamdrill_restarts_total", (("component", "directory"),))] = directory.restarts
    expected[("beamdrill_directory_up", ())] = 1 if world.directory.up else 0
    expected[("beamdrill_agents_connected", ())] = sum(agent.connected for agent in world.agents.values())
    expected[("beamdrill_rate_limit_rejections_total", (("layer", "bus"),))] = \
        bus.rejections_by_code.get("RATE_LIMIT_EXCEEDED", 0)
    expected[("beamdrill_rate_limit_rejections_total", (("layer", "trust_gate_pair"),))] = \
        directory.rejections_by_code.get("SHIELD_RATE_LIMITED", 0)
    return expected


def check_rate_limit_layers(values: dict[SeriesId, float], world: World, summary: Summary) -> None:
    """The three directory limiters that answer RATE_LIMITED add up to the summary's count,
    the two public ones to the audit log's; the split is checked against the audit rows
    when the log still holds every row."""
    layer = {name: values[("beamdrill_rate_limit_rejections_total", (("layer", name),))]
             for name in ("public_ip", "public_sender", "relay_sender")}
    directory = summary.directory
    assert sum(layer.values()) == directory.rejections_by_code.get("RATE_LIMITED", 0)
    assert layer["public_ip"] + layer["public_sender"] == directory.audit_actions.get("public.rate_limit.throttled", 0)
    audit = world.directory.security.audit
    if sum(audit.counts.values()) == len(audit.rows):
        buckets = Counter(row.details["bucket"] for row in audit.rows if row.action == "public.rate_limit.throttled")
        assert (layer["public_ip"], layer["public_sender"]) == (buckets["intent-send-ip"], buckets["intent-send-sender"])


class Run(NamedTuple):
    """A finished run with metrics: the world, its summary, the recorder and its file."""

    world: World
    summary: Summary
    recorder: MetricsRecorder
    text: str
    epoch_s: float
    written: int


def run_with_metrics(scenario: str, until: float, seed: int | None = None, interval: float = 15.0) -> Run:
    world = World(load_scenario(ROOT / "scenarios" / scenario), seed)
    recorder = MetricsRecorder(world, interval)
    summary = world.run(until=until)
    recorder.finish()
    return written_run(world, summary, recorder)


def written_run(world: World, summary: Summary, recorder: MetricsRecorder) -> Run:
    stream = io.StringIO()
    epoch_s = world.scenario.epoch.timestamp()
    written = recorder.write_openmetrics(stream, epoch_s)
    return Run(world, summary, recorder, stream.getvalue(), epoch_s, written)


@pytest.fixture(scope="module")
def incident(partner_incident: IncidentRun) -> Run:
    """partner-incident for its three hours, scraped every 15 virtual seconds (the run the
    span tests share, see conftest)."""
    assert partner_incident.world.now == INCIDENT_UNTIL
    return written_run(partner_incident.world, partner_incident.summary, partner_incident.metrics)


# -- names and labels ----------------------------------------------------------------------


def test_names_follow_prometheus_conventions(incident: Run) -> None:
    parsed = parse(incident.text)
    assert set(parsed.families) == {family.name for family in FAMILIES}
    for name, family in parsed.families.items():
        assert name.startswith("beamdrill_"), name
        assert family["help"], f"{name} has no HELP"
        if family["type"] == "counter":
            assert not name.endswith("_total")
        if family.get("unit"):
            assert name.endswith("_" + family["unit"]), f"{name} does not end in its unit"
        if "seconds" in name or "latency" in name:
            assert family.get("unit") == "seconds" and name.endswith("_seconds"), name
    for (name, _), owner in parsed.family_of.items():
        kind = parsed.families[owner]["type"]
        if kind == "counter":
            assert name == owner + "_total", name
        else:
            assert not name.endswith("_total"), name
        if kind == "histogram":
            assert name in (owner + "_bucket", owner + "_count", owner + "_sum"), name
    assert parsed.families["beamdrill_delivery_latency_seconds"]["type"] == "histogram"


def test_labels_are_bounded_and_never_carry_a_nonce_or_message_id(incident: Run) -> None:
    parsed = parse(incident.text)
    values_by_label: dict[str, set[str]] = {}
    for _, labels in parsed.series:
        for label, value in labels:
            values_by_label.setdefault(label, set()).add(value)
    assert set(values_by_label) <= LABELS
    assert values_by_label["le"] == {*(str(float(b)) for b in LATENCY_BUCKETS), "+Inf"}
    assert values_by_label["path"] == {"bus", "directory"}
    assert values_by_label["layer"] == {"bus", "public_ip", "public_sender", "trust_gate_pair", "relay_sender"}
    assert all(len(values) <= 12 for label, values in values_by_label.items() if label != "le"), values_by_label
    assert len(parsed.series) < 100
    world = incident.world
    ids = set(world.directory.rows) | set(world.bus.by_nonce) | set(world.bus.by_id)
    assert len(ids) > 1000
    label_values = set().union(*values_by_label.values())
    assert not ids & label_values
    assert not any(re.fullmatch(r"[0-9a-f]{16,}", value) for value in label_values)
    nonce = next(iter(world.bus.by_nonce))
    assert nonce not in incident.text


# -- values --------------------------------------------------------------------------------


def test_final_values_equal_the_runs_summary(incident: Run) -> None:
    values = final(parse(incident.text))
    expected = expected_final(incident.world, incident.summary)
    assert {key: values[key] for key in expected} == expected
    check_rate_limit_layers(values, incident.world, incident.summary)
    # The incident exercises what the metrics are for.
    assert values[("beamdrill_bus_retries_total", ())] > 0
    assert values[("beamdrill_bus_dead_letters_total", ())] > 0
    assert values[("beamdrill_rate_limit_rejections_total", (("layer", "public_sender"),))] > 0
    assert values[("beamdrill_rate_limit_rejections_total", (("layer", "bus"),))] > 0
    assert values[("beamdrill_restarts_total", (("component", "directory"),))] == 1
    count = values[("beamdrill_delivery_latency_seconds_count", ())]
    assert count == values[("beamdrill_delivery_latency_seconds_bucket", (("le", "+Inf"),))]
    assert 0 < count <= incident.summary.paths["directory"].accepted


def test_the_alert_window_series_are_what_the_alert_engine_read_last(incident: Run) -> None:
    """The inputs of Beam's alert rules, exported for Prometheus rules: exactly the alert
    engine's numbers as of its last evaluation, which the run's final scrape follows."""
    values = final(parse(incident.text))
    world = incident.world
    observations = world.observations
    holds, rejects = observations.shield_counts
    p95 = observations.latencies.percentile(0.95)
    assert p95 is not None
    window = {key: value for key, value in values.items()
              if key[0].startswith("beamdrill_alert_window_") or key[0] in ("beamdrill_in_flight_older_than_15m",
                                                                             "beamdrill_federation_stale_peers")}
    assert window == {
        ("beamdrill_alert_window_intents", (("outcome", "success"),)): observations.successes,
        ("beamdrill_alert_window_intents", (("outcome", "error"),)): observations.errors,
        ("beamdrill_alert_window_latency_p95_seconds", ()): p95 / 1000,
        ("beamdrill_in_flight_older_than_15m", ()): observations.backlog_count(),
        ("beamdrill_alert_window_shield_flagged", (("decision", "hold"),)): holds,
        ("beamdrill_alert_window_shield_flagged", (("decision", "reject"),)): rejects,
        **{("beamdrill_alert_window_error_codes", (("code", code),)): count
           for code, count in observations.codes.items()},
        ("beamdrill_federation_stale_peers", ()): 0}
    # run(until) stops before the evaluation due at the end: the last one was an interval earlier
    assert observations.errors > 0 and observations.codes and world.alerts.evaluated_at == INCIDENT_UNTIL - 15


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=worlds(), seed=st.integers(min_value=0, max_value=2**32))
def test_final_values_equal_the_summary_in_random_worlds_with_faults(spec: dict[str, Any], seed: int) -> None:
    world = World(parse_scenario(spec), seed)
    recorder = MetricsRecorder(world, 60.0)
    world.env.run(until=333.0)
    world.bus.restart()
    summary = world.run(until=3600)
    recorder.finish()
    stream = io.StringIO()
    recorder.write_openmetrics(stream, 0.0)
    values = final(parse(stream.getvalue()))
    expected = expected_final(world, summary)
    assert {key: values[key] for key in expected} == expected
    check_rate_limit_layers(values, world, summary)


def test_requeues_and_restarts_are_counted() -> None:
    world = World(load_scenario(ROOT / "scenarios" / "partner-incident.yaml"))
    recorder = MetricsRecorder(world)
    world.run(until=1800)
    dead = world.bus.dead_letters(limit=3)
    assert dead, "the incident dead-letters bus messages in its first half hour"
    for msg in dead:
        world.bus.requeue(msg.id)
    world.bus.restart()
    summary = world.run(until=1900)
    recorder.finish()
    stream = io.StringIO()
    recorder.write_openmetrics(stream, 0.0)
    values = final(parse(stream.getvalue()))
    assert values[("beamdrill_bus_requeues_total", ())] == summary.bus.requeues == len(dead)
    assert values[("beamdrill_restarts_total", (("component", "bus"),))] == summary.bus.restarts == 1
    expected = expected_final(world, summary)
    assert {key: values[key] for key in expected} == expected


def test_latency_histogram_equals_delivered_to_result_times_from_events() -> None:
    world = World(load_scenario(ROOT / "scenarios" / "partner-incident.yaml"))
    events: list[Event] = []
    world.subscribe(events.append)
    recorder = MetricsRecorder(world)
    world.run(until=1200)
    recorder.finish()
    delivered: dict[str, float] = {}
    expected = LatencyHistogram()
    for event in events:
        if event.kind == "transition" and event.data["path"] == "directory" and event.data["to"] == "delivered":
            delivered[event.nonce] = event.time  # type: ignore[index]
        elif event.kind == "agent_result" and not event.data["late"]:
            expected.observe(event.time - delivered[event.nonce])  # type: ignore[index]
    histogram = latency_histogram(world.directory)
    assert expected.count > 1000
    assert (histogram.counts, histogram.sum) == (expected.counts, expected.sum)
    stream = io.StringIO()
    recorder.write_openmetrics(stream, 0.0)
    values = final(parse(stream.getvalue()))
    assert values[("beamdrill_delivery_latency_seconds_count", ())] == expected.count
    assert values[("beamdrill_delivery_latency_seconds_sum", ())] == expected.sum
    assert [values[("beamdrill_delivery_latency_seconds_bucket", (("le", le),))] for le in histogram.les] \
        == expected.values()[:-2]


def test_a_run_gives_the_same_results_with_or_without_metrics() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "partner-incident.yaml")
    plain = World(scenario).run(until=1800)
    world = World(scenario)
    MetricsRecorder(world, 7.0)
    assert world.run(until=1800) == plain


# -- the file ------------------------------------------------------------------------------


#: Series that start after the first scrape: a failure code's at its first failure, an alert's at
#: its first firing, an error code of the alert window at its first failure in it, the window's
#: p95 at its first latency.
STARTS_LATER = ("beamdrill_directory_failures_total", "beamdrill_alerts_firing", "beamdrill_alert_window_error_codes",
                "beamdrill_alert_window_latency_p95_seconds")


def test_samples_are_time_sorted_per_series_and_the_file_ends_with_eof(incident: Run) -> None:
    parsed = parse(incident.text)
    assert incident.text.endswith("\n# EOF\n") and incident.text.count("# EOF") == 1
    assert incident.written == sum(len(points) for points in parsed.series.values())
    scrapes = len(incident.recorder.store.times)
    assert scrapes == INCIDENT_UNTIL / 15 + 1
    for key, points in parsed.series.items():
        stamps = [stamp for stamp, _ in points]
        assert all(a < b for a, b in zip(stamps, stamps[1:])), f"{key} not strictly time-sorted"
        if key[0] not in STARTS_LATER:
            assert len(points) == scrapes, key
    for key, points in parsed.series.items():
        if parsed.families[parsed.family_of[key]]["type"] == "counter":
            assert all(a[1] <= b[1] for a, b in zip(points, points[1:])), f"counter {key} went down"


def test_timestamps_are_the_epoch_plus_virtual_time() -> None:
    run = run_with_metrics("demo.yaml", 100.0)
    parsed = parse(run.text)
    assert run.epoch_s == run.world.scenario.epoch.timestamp() == 1775203200.0
    expected = [run.epoch_s + t for t in (0, 15, 30, 45, 60, 75, 90, 100)]
    for key, points in parsed.series.items():
        stamps = [stamp for stamp, _ in points]
        assert stamps == (expected[-len(stamps):] if key[0] in STARTS_LATER else expected)
    stream = io.StringIO()
    run.recorder.write_openmetrics(stream, 1000.25)
    stamps = {stamp for points in parse(stream.getvalue()).series.values() for stamp, _ in points}
    assert stamps == {1000.25 + t for t in (0, 15, 30, 45, 60, 75, 90, 100)}


def test_a_scrape_at_the_time_of_the_last_replaces_it_and_the_run_may_go_on() -> None:
    world = World(load_scenario(ROOT / "scenarios" / "demo.yaml"))
    recorder = MetricsRecorder(world, 10.0)
    world.run(until=30)
    recorder.finish()
    recorder.finish()
    summary = world.run(until=65)  # the periodic scrape at 30 was due: it lands on the same time
    recorder.finish()
    stream = io.StringIO()
    recorder.write_openmetrics(stream, 0.0)
    parsed = parse(stream.getvalue())
    scrapes = [0, 10, 20, 30, 40, 50, 60, 65]
    for key, points in parsed.series.items():
        stamps = [stamp for stamp, _ in points]
        assert stamps == (scrapes[-len(stamps):] if key[0] in STARTS_LATER else scrapes)
    expected = expected_final(world, summary)
    values = final(parsed)
    assert {key: values[key] for key in expected} == expected


def test_a_registry_of_the_world_scraped_generically_writes_the_same_file() -> None:
    scenario = load_scenario(ROOT / "scenarios" / "partner-incident.yaml")
    fast_world, generic_world = World(scenario), World(scenario)
    fast = MetricsRecorder(fast_world)
    generic = MetricsRecorder(generic_world, registry=world_registry(generic_world))
    for world, recorder in ((fast_world, fast), (generic_world, generic)):
        world.run(until=900)
        recorder.finish()
    texts = []
    for recorder in (fast, generic):
        stream = io.StringIO()
        recorder.write_openmetrics(stream, 0.0)
        texts.append(stream.getvalue())
    assert texts[0] == texts[1]


def test_one_scrape_is_valid_openmetrics_for_prometheus_clients_strict_parser(incident: Run) -> None:
    registry = CollectorRegistry()
    registry.register(WorldCollector(incident.world, latency_histogram(incident.world.directory)))
    store = SampleStore()
    store.record(incident.world.now, registry.collect())
    stream = io.StringIO()
    store.write(stream, 1775203200.0)
    # (Its parser drops the later points of a timestamped histogram, so it reads one scrape.)
    families = {family.name: family for family in text_string_to_metric_families(stream.getvalue())}
    assert set(families) == {family.name for family in FAMILIES}
    exposition = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    assert {name: (f.type, f.unit) for name, f in families.items()} == \
        {name: (f.type, f.unit) for name, f in exposition.items()}


def test_store_keeps_one_array_of_values_per_series_and_no_label_dicts_per_scrape(incident: Run) -> None:
    store = incident.recorder.store
    assert len(store.series) < 100
    for series in store.series:
        assert series.values.typecode == "d"
        assert len(series.values) <= len(store.times)
    assert store.times.typecode == "d"


def test_interval_must_be_positive() -> None:
    world = World(load_scenario(ROOT / "scenarios" / "demo.yaml"))
    for interval in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            MetricsRecorder(world, interval)


# -- a real Prometheus ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def prometheus(incident: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromAPI]:
    """The incident's metrics backfilled with promtool and served by Prometheus on loopback."""
    promtool, _ = binaries()
    work = tmp_path_factory.mktemp("prometheus")
    metrics, data = work / "metrics.om", work / "data"
    metrics.write_text(incident.text)
    created = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(metrics), str(data)],
                             capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr + created.stdout
    config = work / "prometheus.yml"
    config.write_text("global:\n  evaluation_interval: 1h\nscrape_configs: []\n")
    yield from serve(work, data, config)


def test_prometheus_serves_the_runs_final_counters_exactly(incident: Run, prometheus: PromAPI) -> None:
    end = incident.epoch_s + INCIDENT_UNTIL
    served = prometheus.vector('{__name__=~"beamdrill_.+"}', end)
    expected = {(name, tuple(sorted(labels))): value
                for (name, labels), value in expected_final(incident.world, incident.summary).items()}
    assert {key: served.get(key) for key in expected} == expected
    from_file = {(name, tuple(sorted(labels))): value for (name, labels), value in final(parse(incident.text)).items()}
    assert served == from_file
    counters = {key for key in served if key[0].endswith("_total")}
    assert len(counters) >= 20
    world = incident.world
    assert {status: served[("beamdrill_inbox_items", (("status", status),))] for status in STATUSES} == \
        {status: world.inbox.count(status) for status in STATUSES}
    firing = {dict(labels)["alert_id"]: dict(labels)["severity"]
              for (name, labels), value in served.items() if name == "beamdrill_alerts_firing" and value == 1}
    assert firing == world.alerts.severities and firing


def test_prometheus_rate_over_the_incident_window_is_not_empty(incident: Run, prometheus: PromAPI) -> None:
    start, end = incident.epoch_s, incident.epoch_s + INCIDENT_UNTIL
    data = prometheus.get("/api/v1/query_range", query="sum by (path) (rate(beamdrill_intents_accepted_total[5m]))",
                          start=f"{start:.3f}", end=f"{end:.3f}", step="60")
    assert data["result"], "rate() over the incident window returned nothing"
    for item in data["result"]:
        assert len(item["values"]) > 150 and max(float(v) for _, v in item["values"]) > 0
    # The public per-sender limit drops to 5/min from 1h05m to 1h10m: rejections rise then.
    during = prometheus.vector('increase(beamdrill_rate_limit_rejections_total{layer="public_sender"}[5m])',
                               start + 4200)
    assert sum(during.values()) > 0
    before = prometheus.vector('increase(beamdrill_rate_limit_rejections_total{layer="public_sender"}[5m])',
                               start + 3600)
    assert sum(before.values()) == 0
    # The directory is down from 1h50m for 20 s.
    down = prometheus.vector("beamdrill_directory_up", start + 6615)
    assert list(down.values()) == [0.0]


# -- operator surfaces: alerts and inbox -----------------------------------------------------

SLOW_FAILING = "finance@northwind.beam.directory"
HEALTHY = "warehouse@northwind.beam.directory"
PROCUREMENT = "procurement@acme.beam.directory"


def alerting_world() -> World:
    """procurement (HTTP only) → a recipient that times out after 6.2 s, and one that answers at once."""
    agents: list[dict[str, Any]] = [
        {"id": PROCUREMENT, "connected": False},
        {"id": SLOW_FAILING, "latency": "6.2s", "failure_rate": 1.0, "failure_code": "TIMEOUT"},
        {"id": HEALTHY, "latency": "10ms"}]
    return World(parse_scenario({"name": "alerting", **without_limits(agents)}), seed=1)


def send(world: World, target: str, count: int, every: float, prefix: str) -> None:
    """Relay ``count`` conversation messages to ``target``, one every ``every`` virtual seconds from now."""
    def sender() -> Generator[simpy.Event, Any, None]:
        for index in range(count):
            world.directory.relay(Frame(PROCUREMENT, target, "conversation.message", {"message": "x"},
                                        f"{prefix}-{index}", world.env.now), "http")
            yield world.env.timeout(every)

    world.env.process(sender())


def operator_values(collector: WorldCollector) -> dict[SeriesId, float]:
    """One scrape's alert and inbox series."""
    layout, values = collector.snapshot()
    return {(key.name, key.labels): value for key, value in zip(layout.series, values)
            if key.name in ("beamdrill_alerts_firing", "beamdrill_inbox_items")}


def firing(alert_id: str, severity: str) -> SeriesId:
    return ("beamdrill_alerts_firing", (("alert_id", alert_id), ("severity", severity)))


def inbox(status: str) -> SeriesId:
    return ("beamdrill_inbox_items", (("status", status),))


def test_alerts_firing_and_inbox_items_follow_the_engines_last_evaluation() -> None:
    world = alerting_world()
    world.alerts.stop()
    collector = WorldCollector(world, latency_histogram(world.directory))
    assert operator_values(collector) == {inbox("new"): 0, inbox("acknowledged"): 0, inbox("acted"): 0}
    send(world, SLOW_FAILING, 5, 1.0, "slow")
    world.run(until=30)
    assert operator_values(collector)[inbox("new")] == 0, "nothing evaluated yet: nothing fires"
    world.alerts.evaluate()
    assert world.alerts.firing() == {"network-latency-p95": "critical", "error-hotspot-timeout": "warning"}
    first_layout = collector.snapshot()[0]
    assert operator_values(collector) == {
        firing("network-latency-p95", "critical"): 1, firing("error-hotspot-timeout", "warning"): 1,
        inbox("new"): 1, inbox("acknowledged"): 0, inbox("acted"): 0}
    assert collector.snapshot()[0] is first_layout, "no new series: the same layout"
    send(world, SLOW_FAILING, 5, 1.0, "slow-again")
    world.run(until=60)
    world.alerts.evaluate()
    assert world.alerts.firing() == {"network-error-rate": "critical", "network-latency-p95": "critical",
                                     "error-hotspot-timeout": "critical"}
    second_layout = collector.snapshot()[0]
    assert second_layout is not first_layout
    assert operator_values(collector) == {
        firing("network-latency-p95", "critical"): 1, firing("error-hotspot-timeout", "warning"): 0,
        firing("network-error-rate", "critical"): 1, firing("error-hotspot-timeout", "critical"): 1,
        inbox("new"): 3, inbox("acknowledged"): 0, inbox("acted"): 0}
    items = {item.alert_id: item.id for item in world.inbox.items()}
    assert world.inbox.patch(items["network-latency-p95"], {"status": "acknowledged", "owner": "ops"},
                             role="operator").ok
    assert world.inbox.patch(items["network-error-rate"], {"status": "acted"}, role="operator").ok
    assert operator_values(collector) == {
        firing("network-latency-p95", "critical"): 1, firing("error-hotspot-timeout", "warning"): 0,
        firing("network-error-rate", "critical"): 1, firing("error-hotspot-timeout", "critical"): 1,
        inbox("new"): 1, inbox("acknowledged"): 1, inbox("acted"): 1}
    # 190 quick answers bring the error rate under 10% and the p95 under 2 s; the hotspot
    # stays. (Sent once the earlier sends left Shield's 5-minute window, 19 in a window.)
    world.run(until=400)
    send(world, HEALTHY, 190, 16.0, "fine")
    world.run(until=3500)
    world.alerts.evaluate()
    assert world.alerts.firing() == {"error-hotspot-timeout": "critical"}
    assert collector.snapshot()[0] is second_layout, "cleared alerts keep their series, at 0"
    assert operator_values(collector) == {
        firing("network-latency-p95", "critical"): 0, firing("error-hotspot-timeout", "warning"): 0,
        firing("network-error-rate", "critical"): 0, firing("error-hotspot-timeout", "critical"): 1,
        inbox("new"): 1, inbox("acknowledged"): 1, inbox("acted"): 1}


def test_alert_series_in_the_openmetrics_file_start_at_their_first_firing_and_stay() -> None:
    world = alerting_world()
    recorder = MetricsRecorder(world, 15.0)  # created after the engine: each scrape sees that tick's evaluation
    send(world, SLOW_FAILING, 10, 3.0, "slow")
    world.run(until=60)
    recorder.finish()
    stream = io.StringIO()
    recorder.write_openmetrics(stream, 0.0)
    parsed = parse(stream.getvalue())
    alert_series = {key: points for key, points in parsed.series.items() if key[0] == "beamdrill_alerts_firing"}
    # 5 failures done at 18.2 s (hotspot warning), 10 at 33.2 s (completed ≥ 10: error rate; hotspot critical).
    assert alert_series == {
        firing("network-latency-p95", "critical"): [(15, 1), (30, 1), (45, 1), (60, 1)],
        firing("error-hotspot-timeout", "warning"): [(30, 1), (45, 0), (60, 0)],
        firing("network-error-rate", "critical"): [(45, 1), (60, 1)],
        firing("error-hotspot-timeout", "critical"): [(45, 1), (60, 1)],
    }
    assert {key: points[-1][1] for key, points in parsed.series.items() if key[0] == "beamdrill_inbox_items"} == \
        {inbox("new"): 3, inbox("acknowledged"): 0, inbox("acted"): 0}
    assert parsed.families["beamdrill_alerts_firing"]["type"] == "gauge"
    assert parsed.families["beamdrill_inbox_items"]["type"] == "gauge"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(LATENCY_BUCKETS), st.floats(min_value=0, max_value=120)), max_size=50))
def test_latency_histogram_buckets_as_bisect_left(latencies: list[float]) -> None:
    """A latency equal to a bound counts in that bound's bucket; one past the last in +Inf."""
    histogram = LatencyHistogram()
    expected = [0] * (len(LATENCY_BUCKETS) + 1)
    for seconds in latencies:
        histogram.observe(seconds)
        expected[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
    assert histogram.counts == expected and histogram.count == len(latencies)
    assert histogram.sum == sum(latencies)
