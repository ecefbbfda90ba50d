"""Spans built from the event stream (simulator/telemetry): exact span trees of the demo,
dead letters, async acceptance and later acks, refusals, sampling, seeded ids, the OTLP
JSON Lines encoder against OpenTelemetry's own file exporter, and an end-to-end OTLP/HTTP
export to a loopback receiver."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conftest import IncidentRun, without_limits
from simulator.kernel.events import Event
from simulator.kernel.gctune import tuned_gc
from simulator.beam.relay import Frame
from simulator import Scenario, load_scenario, parse_scenario
from simulator.telemetry.ids import span_id, span_ids, trace_id
from simulator.telemetry.otlp import (
    OtlpExportError,
    OtlpJsonlWriter,
    batches,
    export_otlp_http,
    sdk_resource_and_scope,
    sdk_spans,
    write_otlp_jsonl,
)
from simulator.telemetry.records import SpanRecord
from simulator.telemetry.sampling import ALL, Sampling, parse_sampling
from simulator.telemetry.spans import SpanRecorder
from simulator.world import World

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
PARTNER_DAY = ROOT / "scenarios" / "partner-day.yaml"
PARTNER_INCIDENT = ROOT / "scenarios" / "partner-incident.yaml"
PROCUREMENT = "procurement@acme.beam.directory"
DESK = "partner-desk@northwind.beam.directory"
WAREHOUSE = "warehouse@northwind.beam.directory"
FINANCE = "finance@acme.beam.directory"
SENDER = "sender@test.beam.directory"
TARGET = "target@test.beam.directory"
#: The default epoch 2026-04-03T08:00:00Z in Unix nanoseconds.
EPOCH_NS = 1_775_203_200_000_000_000
RESOURCE = {"service.name": "beamdrill", "deployment.environment.name": "test"}


def traced(world: World, sampling: Sampling = ALL) -> tuple[SpanRecorder, list[Event]]:
    """Subscribe a recorder (and an event list) to ``world``."""
    recorder = SpanRecorder(world.seed, sampling)
    events: list[Event] = []
    world.subscribe(recorder)
    world.subscribe(events.append)
    return recorder, events


def demo(until: float | None = None) -> tuple[World, SpanRecorder, list[Event]]:
    world = World(load_scenario(DEMO))
    recorder, events = traced(world)
    world.run(until=until)
    return world, recorder, events


def quiet_world(agents: list[dict[str, Any]], **fields: Any) -> World:
    """SENDER plus ``agents``, no traffic, rows kept forever, limits lifted."""
    return World(parse_scenario({"name": "trace-test", **without_limits([{"id": SENDER}, *agents]),
                                 "retention": {"finished_rows": None}, **fields}), seed=1)


def dead_letter_world(sampling: Sampling = ALL) -> tuple[World, SpanRecorder, list[Event]]:
    """A bus message to an agent that never connects: five OFFLINE attempts, then a dead letter."""
    world = quiet_world([{"id": TARGET, "connected": False}])
    recorder, events = traced(world, sampling)
    world.bus.send(SENDER, TARGET, "agent.ping", {"x": 1}, nonce="retry-nonce-1")
    world.run(until=1200)
    return world, recorder, events


def tree(spans: list[SpanRecord]) -> list[tuple[str, str, str | None]]:
    """(name, kind, parent's name) of each span, in order."""
    names = {span.span_id: span.name for span in spans}
    return [(span.name, span.kind, names.get(span.parent_span_id or "")) for span in spans]


def times(spans: list[SpanRecord]) -> list[tuple[float, float]]:
    return [(span.start, span.end) for span in spans]


# -- span trees ---------------------------------------------------------------------------


def test_demo_quote_trace_is_send_check_process_settle() -> None:
    world, recorder, _ = demo()
    traces = list(recorder.traces())
    assert len(traces) == 3  # quote, inventory check, purchase preflight (first-seen order)
    quote = traces[0]
    nonce = next(iter(world.traffic.quote_runs))
    assert tree(quote) == [
        (f"send {DESK}", "PRODUCER", None),
        (f"check {DESK}", "INTERNAL", f"send {DESK}"),
        (f"process {DESK}", "CONSUMER", f"send {DESK}"),
        (f"settle {DESK}", "INTERNAL", f"send {DESK}"),
    ]
    # The quote arrives at 5 s; the desk answers after its 40 ms plus the warehouse's 25 ms.
    assert times(quote) == [(5.0, 5.065), (5.0, 5.0), (5.0, 5.065), (5.065, 5.065)]
    root, check, process, settle = quote
    assert root.attributes == {
        "messaging.system": "beam", "messaging.operation.type": "send", "messaging.operation.name": "send",
        "messaging.destination.name": DESK, "beam.sender": PROCUREMENT, "beam.intent": "quote.request",
        "beam.path": "directory", "beam.origin": "http", "messaging.message.id": nonce,
        "beam.lifecycle.status": "acked", "beam.retry_count": 0,
    }
    assert check.attributes == {
        "messaging.system": "beam", "messaging.destination.name": DESK, "beam.shield.decision": "pass",
        "beam.shield.risk": 0.0, "beam.shield.flags": [], "messaging.message.id": nonce,
    }
    assert process.attributes == {
        "messaging.system": "beam", "messaging.operation.type": "process", "messaging.operation.name": "process",
        "messaging.destination.name": DESK, "messaging.message.id": nonce,
    }
    assert settle.attributes == {
        "messaging.system": "beam", "messaging.operation.type": "settle", "messaging.operation.name": "settle",
        "messaging.destination.name": DESK, "beam.path": "directory", "beam.lifecycle.status": "acked",
        "messaging.message.id": nonce,
    }
    assert all(span.status == "UNSET" and span.status_message == "" and span.links == [] for span in quote)
    assert {span.trace_id for span in quote} == {trace_id(world.seed, nonce)}
    assert [span.span_id for span in quote] == span_ids(world.seed, nonce, 4)

    inventory = traces[1]
    assert tree(inventory)[0] == (f"send {WAREHOUSE}", "PRODUCER", None)
    assert inventory[0].attributes["beam.origin"] == "ws"
    assert inventory[0].attributes["beam.sender"] == DESK
    assert times(inventory) == [(5.04, 5.065), (5.04, 5.04), (5.04, 5.065), (5.065, 5.065)]


def test_demo_preflight_trace_has_bus_attempt_spans() -> None:
    world, recorder, _ = demo()
    preflight = list(recorder.traces())[2]
    message = world.bus.by_id[world.bus.poll(FINANCE).body["messages"][0]["id"]]
    assert tree(preflight) == [
        (f"send {FINANCE}", "PRODUCER", None),
        (f"deliver {FINANCE}", "CLIENT", f"send {FINANCE}"),
        (f"check {FINANCE}", "INTERNAL", f"deliver {FINANCE}"),
        (f"process {FINANCE}", "CONSUMER", f"deliver {FINANCE}"),
    ]  # the bus row stays `delivered` (nobody acked it): no settle span
    root, deliver, check, process = preflight
    assert root.attributes["beam.path"] == "bus"
    assert root.attributes["beam.message_id"] == message.id
    assert root.attributes["messaging.message.id"] == message.nonce
    assert root.attributes["beam.lifecycle.status"] == "delivered"
    assert root.status == "UNSET"
    assert deliver.attributes == {
        "messaging.system": "beam", "messaging.operation.type": "send", "messaging.operation.name": "deliver",
        "messaging.destination.name": FINANCE, "messaging.message.id": message.nonce,
        "beam.message_id": message.id, "beam.attempt": 1, "beam.retry_count": 0,
        "beam.attempt.outcome": "delivered", "http.response.status_code": 200,
    }
    assert process.attributes["beam.async_accepted"] is True
    # Sent at 5.065 once the quote is answered; finance accepts after its 30 ms.
    assert [(round(a, 9), round(b, 9)) for a, b in times(preflight)] == [
        (5.065, 5.095), (5.065, 5.095), (5.065, 5.065), (5.065, 5.095)]


def test_dead_letter_has_five_failed_deliver_spans_and_an_error_settle() -> None:
    world, recorder, events = dead_letter_world()
    (trace,) = list(recorder.traces())
    root, *children = trace
    delivers = [span for span in children if span.name == f"deliver {TARGET}"]
    assert len(delivers) == 5
    # Beam's backoff for this nonce is 28, 57, 115, 233 s, picked up by the 30 s worker ticks.
    dispatched = [e.time for e in events if e.kind == "transition" and e.data["path"] == "bus"
                  and e.data["to"] == "dispatched"]
    assert dispatched == [0.0, 30.0, 90.0, 210.0, 450.0]
    assert [span.start for span in delivers] == dispatched
    assert [span.attributes["beam.attempt"] for span in delivers] == [1, 2, 3, 4, 5]
    assert [span.attributes["beam.retry_count"] for span in delivers] == [0, 1, 2, 3, 4]
    assert [span.attributes["beam.attempt.outcome"] for span in delivers] == ["queued"] * 4 + ["dead_letter"]
    assert {(span.status, span.status_message, span.attributes["error.type"],
             span.attributes["http.response.status_code"]) for span in delivers} == {
        ("ERROR", "OFFLINE", "OFFLINE", 503)}
    checks = [span for span in children if span.name == f"check {TARGET}"]
    assert [span.parent_span_id for span in checks] == [span.span_id for span in delivers]
    assert [span.attributes.get("beam.nonce_claim") for span in checks] == [None] + ["reset"] * 4
    settle = children[-1]
    assert settle.name == f"settle {TARGET}"
    assert (settle.start, settle.end, settle.status, settle.status_message) == (450.0, 450.0, "ERROR", "OFFLINE")
    assert settle.attributes["beam.lifecycle.status"] == "dead_letter"
    assert settle.attributes["error.type"] == "OFFLINE"
    assert root.status == "ERROR" and root.status_message == "OFFLINE"
    assert root.attributes["beam.lifecycle.status"] == "dead_letter"
    assert root.attributes["beam.retry_count"] == 4
    assert root.attributes["error.type"] == "OFFLINE"
    assert (root.start, root.end) == (0.0, 0.0)  # the sender's answer: the first attempt, 503 → queued
    assert world.bus.dead_letters()[0].retry_count == 4


def test_async_acceptance_and_a_later_bus_ack_are_linked() -> None:
    world, recorder, _ = demo(until=60)
    message_id = world.bus.poll(FINANCE).body["messages"][0]["id"]
    assert world.bus.ack(message_id, "acked").http_status == 200  # finance finishes the work at 60 s
    preflight = list(recorder.traces())[2]
    process = next(span for span in preflight if span.kind == "CONSUMER")
    settle = preflight[-1]
    assert settle.name == f"settle {FINANCE}"
    assert (settle.start, settle.end) == (60.0, 60.0)
    assert settle.parent_span_id == preflight[0].span_id
    assert settle.attributes["beam.path"] == "bus"
    assert settle.attributes["beam.lifecycle.status"] == "acked"
    assert settle.links == [(process.trace_id, process.span_id)]
    assert process.attributes["beam.async_accepted"] is True
    assert preflight[0].attributes["beam.lifecycle.status"] == "acked"


def test_a_refused_relay_is_an_error_trace_with_the_refusal_on_its_check_span() -> None:
    world = World(parse_scenario({"name": "refused", "agents": [{"id": SENDER}, {"id": TARGET}],
                                  "retention": {"finished_rows": None}}), seed=1)  # no ACL row: deny
    recorder, events = traced(world)
    world.directory.relay(Frame(SENDER, TARGET, "agent.ping", {}, "n-refused", 0.0), "http")
    world.run(until=1)
    (trace,) = list(recorder.traces())
    rejected = next(e for e in events if e.kind == "relay_rejected")
    assert tree(trace) == [(f"send {TARGET}", "PRODUCER", None), (f"check {TARGET}", "INTERNAL", f"send {TARGET}")]
    root, check = trace
    assert check.attributes["error.type"] == rejected.data["code"]
    assert check.attributes["http.response.status_code"] == rejected.data["http_status"]
    assert check.status == "ERROR"
    assert root.attributes["beam.lifecycle.status"] == "rejected"
    assert (root.status, root.status_message) == ("ERROR", rejected.data["code"])


def test_spans_open_at_the_end_of_the_run_are_marked_unfinished() -> None:
    _, recorder, _ = demo(until=5.03)  # the desk has not answered the quote yet
    quote = list(recorder.traces(until=5.03))[0]
    root, check, process = quote
    assert root.end == process.end == 5.03
    assert root.attributes["beam.unfinished"] is True and process.attributes["beam.unfinished"] is True
    assert "beam.unfinished" not in check.attributes
    assert root.attributes["beam.lifecycle.status"] == "delivered"


@pytest.fixture(scope="module")
def incident(partner_incident: IncidentRun) -> SpanRecorder:
    """The whole three hours of partner-incident (every fault kind), keeping what was not
    acked (the run the metrics tests share, see conftest)."""
    assert partner_incident.world.now == partner_incident.world.scenario.duration
    assert partner_incident.spans.sampling == parse_sampling("failed")
    return partner_incident.spans


def assert_well_formed(traces: Iterator[list[SpanRecord]]) -> int:
    count = 0
    for spans in traces:
        ids = [span.span_id for span in spans]
        assert len(set(ids)) == len(ids)
        assert spans[0].parent_span_id is None and spans[0].kind == "PRODUCER"
        assert all(span.parent_span_id in ids for span in spans[1:])
        assert all(span.trace_id == spans[0].trace_id for span in spans)
        assert all(spans[0].start <= span.start <= span.end for span in spans)
        assert all((span.status == "ERROR") == ("error.type" in span.attributes) for span in spans)
        assert all(span.status != "ERROR" or span.status_message == span.attributes["error.type"] for span in spans)
        count += 1
    return count


def test_every_trace_is_a_well_formed_tree(incident: SpanRecorder) -> None:
    assert assert_well_formed(incident.traces()) > 10_000
    kinds = {(span.name.split()[0], span.attributes.get("error.type")) for spans in incident.traces() for span in spans}
    assert {("deliver", "BUS_RESTART"), ("process", "TIMEOUT"), ("check", "RATE_LIMITED"),
            ("settle", "OFFLINE"), ("send", "INTENT_HANDLER_ERROR")} <= kinds
    world = World(load_scenario(PARTNER_DAY))
    recorder, _ = traced(world)
    world.run(until=900)
    assert assert_well_formed(recorder.traces()) > 1_000


# -- sampling and memory ------------------------------------------------------------------


def test_parse_sampling_accepts_the_three_modes_and_explains_anything_else() -> None:
    assert parse_sampling("all") == Sampling("all", 1.0)
    assert parse_sampling("failed") == Sampling("failed", 1.0)
    assert parse_sampling("sampled:0.1") == Sampling("sampled", 0.1)
    assert parse_sampling(" SAMPLED:1 ") == Sampling("sampled", 1.0)
    for bad in ("", "some", "sampled", "sampled:", "sampled:x", "sampled:1.5", "sampled:-0.1", "sampled:nan"):
        with pytest.raises(ValueError, match="expected 'all', 'failed' or 'sampled:FRACTION'"):
            parse_sampling(bad)


def run_partner_day(sampling: Sampling, until: float = 3600) -> tuple[World, SpanRecorder]:
    world = World(load_scenario(PARTNER_DAY))
    recorder = SpanRecorder(world.seed, sampling)
    world.subscribe(recorder)
    world.run(until=until)
    return world, recorder


def test_failed_sampling_keeps_exactly_the_intents_not_acked_and_drops_the_rest_early() -> None:
    _, everything = run_partner_day(ALL)
    world, failed = run_partner_day(parse_sampling("failed"))
    expected = [spans for spans in everything.traces() if spans[0].attributes["beam.lifecycle.status"] != "acked"]
    kept = list(failed.traces())
    assert kept == expected
    assert {spans[0].attributes["beam.lifecycle.status"] for spans in kept} >= {"failed", "delivered"}
    held = failed.held()
    assert held["traces"] == len(kept)  # nothing held but what is kept (the run has settled)
    assert held["traces"] < everything.held()["traces"] / 5
    # Dropped directory nonces are remembered only while the directory still knows them.
    assert 0 < held["dropped_nonces"] <= len(world.directory.rows)


def test_sampled_keeps_a_deterministic_fraction_by_seed_and_nonce() -> None:
    _, everything = run_partner_day(ALL)
    _, first = run_partner_day(parse_sampling("sampled:0.1"))
    _, second = run_partner_day(parse_sampling("sampled:0.1"))
    all_traces = list(everything.traces())
    kept = list(first.traces())
    assert kept == list(second.traces())
    assert 0.08 < len(kept) / len(all_traces) < 0.12
    by_trace = {spans[0].trace_id: spans for spans in all_traces}
    assert all(by_trace[spans[0].trace_id] == spans for spans in kept)  # whole traces, unchanged
    assert all(int(spans[0].trace_id[16:], 16) < 0.1 * 2**64 for spans in kept)
    _, none = run_partner_day(parse_sampling("sampled:0"), until=600)
    assert list(none.traces()) == [] and none.held()["traces"] == 0


def test_recorder_memory_per_intent_is_small_and_failed_mode_stays_flat() -> None:
    tracemalloc.start()
    try:  # 20 minutes (about 2,400 traces) measure the same 0.7 KB a trace as an hour does
        _, recorder = run_partner_day(ALL, until=1200)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    used = sum(stat.size for stat in snapshot.filter_traces(
        [tracemalloc.Filter(True, "*telemetry/spans.py")]).statistics("filename"))
    per_trace = used / recorder.held()["traces"]
    assert per_trace < 900, per_trace  # about 0.7 KB measured
    world = World(load_scenario(PARTNER_DAY))
    failed = SpanRecorder(world.seed, parse_sampling("failed"))
    world.subscribe(failed)
    for hour in range(1, 4):
        world.run(until=hour * 3600)
        held = failed.held()
        # Dropped nonces are remembered only while the directory (15-minute retention) holds their rows.
        assert 0 < held["dropped_nonces"] <= len(world.directory.rows)
        assert held["traces"] < world.directory.ledger.accepted / 5


# -- ids ----------------------------------------------------------------------------------


def id_triples(recorder: SpanRecorder) -> list[tuple[str, str, str | None]]:
    return [(span.trace_id, span.span_id, span.parent_span_id) for spans in recorder.traces() for span in spans]


def test_ids_are_seeded_hex_and_identical_across_runs() -> None:
    first, second = id_triples(demo()[1]), id_triples(demo()[1])
    assert first == second
    for tid, sid, parent in first:
        assert len(tid) == 32 and len(sid) == 16 and int(tid, 16) and int(sid, 16)
        assert tid == tid.lower() and sid == sid.lower()
    assert span_ids(7, "n", 9) == [span_id(7, "n", index) for index in range(9)]
    assert trace_id(7, "n") != trace_id(8, "n") and span_id(7, "n", 0) != span_id(7, "n", 4)
    other_seed = World(load_scenario(DEMO), seed=8)
    recorder, _ = traced(other_seed)
    other_seed.run()
    assert {t for t, _, _ in id_triples(recorder)}.isdisjoint({t for t, _, _ in first})


_ID_SCRIPT = """
import io, sys
from simulator import World, load_scenario
from simulator.telemetry.spans import SpanRecorder
from simulator.telemetry.otlp import write_otlp_jsonl
world = World(load_scenario(sys.argv[1]))
recorder = SpanRecorder(world.seed)
world.subscribe(recorder)
world.run(until=600)
out = io.StringIO()
write_otlp_jsonl(recorder.traces(), out, world.scenario.epoch_ns, {"service.name": "beamdrill"})
sys.stdout.write(out.getvalue())
"""


def test_otlp_file_is_byte_identical_across_processes_and_hash_seeds() -> None:
    outputs = []
    for hash_seed in ("0", "4242"):
        result = subprocess.run([sys.executable, "-c", _ID_SCRIPT, str(PARTNER_DAY)], check=True, cwd=ROOT,
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PYTHONHASHSEED": hash_seed})
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count("\n") > 5 and '"traceId"' in outputs[0]


# -- OTLP JSON Lines ----------------------------------------------------------------------


def official_jsonl(traces: Iterator[list[SpanRecord]], epoch_ns: int, batch: int) -> str:
    """What OpenTelemetry's own FileSpanExporter writes for the same spans and batches."""
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    stream = io.StringIO()
    exporter = FileSpanExporter(stream=stream)
    resource, scope = sdk_resource_and_scope(RESOURCE)
    for spans in batches(traces, batch):
        exporter.export(sdk_spans(spans, epoch_ns, resource, scope))
    return stream.getvalue()


def test_jsonl_matches_the_official_otlp_json_file_exporter_byte_for_byte(incident: SpanRecorder) -> None:
    world, recorder, _ = demo(until=60)
    world.bus.ack(world.bus.poll(FINANCE).body["messages"][0]["id"], "acked")  # a span link
    for traces in (list(recorder.traces()), list(dead_letter_world()[1].traces())):
        ours = io.StringIO()
        assert write_otlp_jsonl(iter(traces), ours, EPOCH_NS, RESOURCE, batch=7) == sum(map(len, traces))
        assert ours.getvalue() == official_jsonl(iter(traces), EPOCH_NS, 7)
    # The incident's failures, refusals, restarts and timeouts (the official exporter is
    # slow, so a few thousand traces of them), then the recorder's compact fast path
    # against the generic encoder on all of them.
    traces = list(incident.traces())
    unusual = [spans for spans in traces if any(span.status == "ERROR" or span.links or "beam.unfinished"
                                                in span.attributes for span in spans)]
    subset = unusual[::max(1, len(unusual) // 2000)] + traces[:200]
    ours = io.StringIO()
    write_otlp_jsonl(iter(subset), ours, EPOCH_NS, RESOURCE)
    assert ours.getvalue() == official_jsonl(iter(subset), EPOCH_NS, 512)
    fast, generic = io.StringIO(), io.StringIO()
    written = write_otlp_jsonl(incident.traces(), fast, EPOCH_NS, RESOURCE)
    assert written == write_otlp_jsonl(iter(traces), generic, EPOCH_NS, RESOURCE) == sum(map(len, traces))
    assert fast.getvalue() == generic.getvalue()


def test_jsonl_lines_are_export_requests_with_hex_ids_and_epoch_times() -> None:
    world, recorder, _ = demo()
    out = io.StringIO()
    assert write_otlp_jsonl(recorder.traces(), out, world.scenario.epoch_ns, {}, batch=4) == 12
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 3  # whole traces of 4 spans, never split
    (resource_spans,) = lines[0]["resourceSpans"]
    assert resource_spans["resource"]["attributes"] == [{"key": "service.name", "value": {"stringValue": "beamdrill"}}]
    (scope_spans,) = resource_spans["scopeSpans"]
    assert scope_spans["scope"] == {"name": "beamdrill"}
    root, check, process, settle = scope_spans["spans"]
    records = list(recorder.traces())[0]
    assert root["traceId"] == records[0].trace_id and root["spanId"] == records[0].span_id
    assert "parentSpanId" not in root and check["parentSpanId"] == root["spanId"]
    assert (root["kind"], check["kind"], process["kind"], settle["kind"]) == (4, 1, 5, 1)
    assert root["startTimeUnixNano"] == str(EPOCH_NS + 5_000_000_000)
    assert root["endTimeUnixNano"] == str(EPOCH_NS + 5_065_000_000)
    assert {"key": "beam.retry_count", "value": {"intValue": "0"}} in root["attributes"]
    assert {"key": "beam.shield.risk", "value": {"doubleValue": 0.0}} in check["attributes"]
    assert {"key": "beam.shield.flags", "value": {"arrayValue": {}}} in check["attributes"]
    assert root["status"] == {}


def test_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch must be at least 1"):
        write_otlp_jsonl(demo()[1].traces(), io.StringIO(), EPOCH_NS, {}, batch=0)


# -- OTLP/HTTP, end to end -------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    """A loopback OTLP/HTTP traces endpoint decoding ExportTraceServiceRequest."""

    requests: list[Any]
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        type(self).requests.append((self.path, self.headers["Content-Type"], request))
        answer = ExportTraceServiceResponse().SerializeToString() if self.status == 200 else b"no"
        self.send_response(self.status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"requests": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    return getattr(value, kind)


def expected_from_events(events: list[Event], epoch_ns: int, seed: int) -> list[tuple[str, str, int, int]]:
    """(trace id, span name, start ns, end ns) of every span, derived from the events alone."""
    ns = lambda t: epoch_ns + round(t * 1e9)  # noqa: E731
    spans: list[tuple[str, str, int, int]] = []
    owners: dict[str, str] = {}
    opened: dict[tuple[str, str], float] = {}
    roots: dict[str, tuple[str, float, float | None]] = {}
    for event in events:
        nonce, data, t = event.nonce, event.data, event.time
        if nonce is None:
            continue
        tid = trace_id(seed, nonce)
        if event.kind in ("bus_accepted", "relay") and nonce not in owners:
            owners[nonce] = "bus" if event.kind == "bus_accepted" else "directory"
            roots[nonce] = (f"send {data['recipient']}", t, None)
        name, start, end = roots[nonce]
        recipient = name.removeprefix("send ")
        if event.kind == "relay":
            spans.append((tid, f"check {recipient}", ns(t), ns(t)))
        elif event.kind == "transition":
            if data["path"] == "directory" and data["to"] == "delivered":
                opened[(nonce, "process")] = t
            if data["path"] == "bus" and data["to"] == "dispatched":
                opened[(nonce, "deliver")] = t
            if data["path"] == owners[nonce] and data["to"] in ("acked", "failed", "dead_letter"):
                spans.append((tid, f"settle {recipient}", ns(t), ns(t)))
                if owners[nonce] == "directory" and end is None:
                    roots[nonce] = (name, start, t)
        elif event.kind == "agent_result" and not data["late"]:
            spans.append((tid, f"process {recipient}", ns(opened.pop((nonce, "process"))), ns(t)))
        elif event.kind == "attempt":
            spans.append((tid, f"deliver {recipient}", ns(opened.pop((nonce, "deliver"))), ns(t)))
            if end is None:
                roots[nonce] = (name, start, t)
    for nonce, (name, start, end) in roots.items():
        tid = trace_id(seed, nonce)
        spans.append((tid, name, ns(start), ns(end if end is not None else start)))
    return sorted(spans)


def test_export_over_otlp_http_reaches_a_loopback_receiver_intact(receiver: tuple[str, type[_Receiver]]) -> None:
    endpoint, handler = receiver
    world, recorder, events = demo(until=60)
    world.bus.ack(world.bus.poll(FINANCE).body["messages"][0]["id"], "acked")
    dead_world, dead_recorder, dead_events = dead_letter_world()
    traces = [*recorder.traces(), *dead_recorder.traces()]
    started = time.monotonic()
    sent = export_otlp_http(iter(traces), endpoint, EPOCH_NS, RESOURCE, batch=8)
    assert time.monotonic() - started < 10
    assert sent == sum(len(spans) for spans in traces) == 4 + 4 + 5 + 12
    assert len(handler.requests) == 3  # whole traces, at most 8 spans a request (the dead letter's 12 alone)
    assert {(path, kind) for path, kind, _ in handler.requests} == {("/v1/traces", "application/x-protobuf")}
    decoded = []
    for _, _, request in handler.requests:
        (resource_spans,) = request.resource_spans
        assert {kv.key: any_value(kv.value) for kv in resource_spans.resource.attributes} == RESOURCE
        (scope_spans,) = resource_spans.scope_spans
        assert scope_spans.scope.name == "beamdrill"
        decoded += scope_spans.spans
    records = [span for spans in traces for span in spans]
    assert len(decoded) == len(records)
    for got, want in zip(decoded, records):
        assert got.trace_id.hex() == want.trace_id and got.span_id.hex() == want.span_id
        assert (got.parent_span_id.hex() or None) == want.parent_span_id
        assert got.name == want.name
        assert got.kind == {"INTERNAL": 1, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}[want.kind]
        assert got.start_time_unix_nano == EPOCH_NS + round(want.start * 1e9)
        assert got.end_time_unix_nano == EPOCH_NS + round(want.end * 1e9)
        assert {kv.key: any_value(kv.value) for kv in got.attributes} == want.attributes
        assert got.status.code == {"UNSET": 0, "ERROR": 2}[want.status] and got.status.message == want.status_message
        assert [(link.trace_id.hex(), link.span_id.hex()) for link in got.links] == want.links
    # Against the run itself: every span's trace, name and times follow from the events.
    received = sorted((span.trace_id.hex(), span.name, span.start_time_unix_nano, span.end_time_unix_nano)
                      for span in decoded)
    assert received == sorted(expected_from_events(events, EPOCH_NS, world.seed)
                               + expected_from_events(dead_events, EPOCH_NS, dead_world.seed))
    settle = next(span for span in decoded if span.name == f"settle {FINANCE}")
    process = next(span for span in decoded if span.name == f"process {FINANCE}")
    assert [(link.trace_id, link.span_id) for link in settle.links] == [(process.trace_id, process.span_id)]
    assert settle.start_time_unix_nano == EPOCH_NS + 60_000_000_000


def test_export_failures_raise_promptly(receiver: tuple[str, type[_Receiver]]) -> None:
    endpoint, handler = receiver
    handler.status = 400  # a collector refusing the data: not retried
    _, recorder, _ = demo()
    started = time.monotonic()
    with pytest.raises(OtlpExportError, match=r"failed on batch 1 \(4 spans; 0 spans accepted before it\)"):
        export_otlp_http(recorder.traces(), endpoint, EPOCH_NS, RESOURCE, batch=4)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1/traces"
    with pytest.raises(OtlpExportError, match="failed on batch 1"):
        export_otlp_http(demo()[1].traces(), closed, EPOCH_NS, RESOURCE, timeout=2)
    assert time.monotonic() - started < 15


def spans_of(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every span in an OTLP JSON Lines text, by (traceId, spanId)."""
    found = {}
    for line in text.splitlines():
        for span in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            found[(span["traceId"], span["spanId"])] = span
    return found


def lighter_incident(fraction: float) -> Scenario:
    """partner-incident with every route's rate times ``fraction``; its faults, burst and
    quote workflow (and so every kind of trace) as they are."""
    spec = yaml.safe_load(PARTNER_INCIDENT.read_text(encoding="utf-8"))
    for route in spec["traffic"]["routes"]:
        route["rate"] *= fraction
    return parse_scenario(spec, str(PARTNER_INCIDENT))


@pytest.mark.parametrize("mode", ["all", "failed"])
def test_streaming_finished_traces_writes_the_same_spans_and_frees_them(mode: str) -> None:
    """With ``on_complete`` a trace leaves memory when the world forgets its row; the file
    holds exactly the spans a write at the end of the run holds (in completion order).

    The first 90 minutes of partner-incident (its faults up to the trust drop) at a fifth of
    its background rates: about 18,000 traces in ``all`` mode instead of 90,000 (the full
    rates held 5 GB in the two files and their parsed spans). The lighter run yields every
    kind of span the full one does (name, status, error type, links, unfinished, lifecycle
    status, outcome, Shield decision, nonce claim; both streamed and written at the end),
    and the 15-minute retention frees the same share of traces (about 80%)."""
    scenario = lighter_incident(0.2)
    streamed, whole = io.StringIO(), io.StringIO()
    world = World(scenario, 3)
    writer = OtlpJsonlWriter(streamed, scenario.epoch_ns, {}, batch=64)
    recorder = SpanRecorder(3, parse_sampling(mode), writer.add)
    kept = SpanRecorder(3, parse_sampling(mode))  # the reference: sees the same events, keeps every trace
    world.subscribe(recorder)
    world.subscribe(kept)
    world.run(until=5400)
    held_during_run = recorder.held()["traces"]
    for views in recorder.traces(until=world.now).views():
        writer.add(views)
    written = writer.close()

    assert write_otlp_jsonl(kept.traces(until=world.now), whole, scenario.epoch_ns, {}, batch=64) == written
    with tuned_gc():  # parsing both files makes ~10^6 small objects; the default collector rescans them
        assert spans_of(streamed.getvalue()) == spans_of(whole.getvalue())
    assert held_during_run < kept.held()["traces"] / 2  # streamed traces were freed
