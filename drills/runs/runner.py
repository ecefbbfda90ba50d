"""Running a world and writing its result directory: the files a run promises, written
atomically, and a failed run's partial results kept (desmod's habit).

Every run ends with the operator's reads of beam-model §9.3-§9.5, each in its own file:
``alerts.json`` (the alerts read at the end, which upserts the inbox, when each started
firing, and every firing transition), then ``inbox.json`` (summary, items, and which write set each item's
``updatedAt``) and ``dead-letters.json`` (the
dead-letter page: figures and rows with requeue hints, never a payload). Records are in
the API's own shape (:meth:`~simulator.operator.api.ApiModel.view`, camelCase) and times are
virtual seconds.
"""

from __future__ import annotations

import time
import traceback
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Final

from drills.runs.files import EventLog, atomic_stream, shown_path, versions, write_json, write_jsonl
from drills.runs.interrupt import Interrupted
from simulator import ConservationError
from simulator.operator.inbox import MAX_LIMIT
from simulator.kernel.illegal import IllegalTransition
from simulator.telemetry.recorder import MetricsRecorder
from simulator.telemetry.otlp import OtlpExportError, OtlpJsonlWriter, export_otlp_http
from simulator.telemetry.sampling import Sampling
from simulator.telemetry.spans import SpanRecorder
from simulator.summary import Summary
from simulator.world import World


@dataclass
class Outputs:
    """What a run writes besides result.json and audit.jsonl."""

    out: Path
    events: bool = False
    scrape_interval: float | None = None  # metrics.om when set
    sampling: Sampling | None = None  # spans are recorded when set
    traces_file: bool = False  # traces.otlp.jsonl
    otlp_endpoint: str | None = None
    #: Whole OpenMetrics families to add to metrics.om after the run, given the epoch (seconds).
    more_metrics: Callable[[float], str] | None = None


@dataclass
class RunReport:
    """How a run went: its summary, the files written, and why it failed if it did."""

    summary: Summary
    wall: float
    files: list[str] = field(default_factory=list)
    failure: str | None = None
    exported_spans: int | None = None
    interrupted: Interrupted | None = None

    @property
    def status(self) -> str:
        """``completed``, ``failed`` (a check or a bug) or ``interrupted`` (a signal)."""
        return "interrupted" if self.interrupted else "failed" if self.failure else "completed"


def describe_error(error: BaseException) -> str:
    """An unexpected error in one line, with where it was raised. SimPy re-raises a
    process's exception as a copy whose cause is the original."""
    original = error.__cause__ or error
    frames = traceback.extract_tb(original.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(original).__name__}: {original}{where}"


def run_world(world: World, scenario_file: Path, end: float, outputs: Outputs,
              run: Callable[[World, float], Summary]) -> RunReport:
    """Run ``world`` to ``end`` with ``run`` (which may show progress) and write every output.

    A conservation or transition failure, or :class:`Interrupted` raised by ``run``
    between slices of virtual time, loses nothing: the summary so far and every file are
    still written up to the time reached, and the report says why the run stopped.
    """
    out = outputs.out
    files = ["result.json", "audit.jsonl"]
    scenario = world.scenario
    resource = {"service.name": "beamdrill", "beamdrill.scenario": scenario.name, "beamdrill.seed": str(world.seed)}
    recorder = MetricsRecorder(world, outputs.scrape_interval) if outputs.scrape_interval else None
    failure: str | None = None
    interrupted: Interrupted | None = None
    summary: Summary | None = None
    with ExitStack() as stack:
        writer = None
        if outputs.traces_file:
            writer = OtlpJsonlWriter(stack.enter_context(atomic_stream(out / "traces.otlp.jsonl")),
                                     scenario.epoch_ns, resource)
        spans = None
        if outputs.sampling is not None:
            # Finished traces stream to the file during the run, unless an endpoint needs them all after it.
            stream_to = writer.add if writer is not None and outputs.otlp_endpoint is None else None
            spans = SpanRecorder(world.seed, outputs.sampling, stream_to)
            world.subscribe(spans)
        if outputs.events:
            log = EventLog(out / "events.jsonl")
            stack.callback(log.close)
            world.subscribe(log.sink)
            files.append("events.jsonl")
        started = time.perf_counter()
        try:
            summary = run(world, end)
        except Interrupted as stop:
            interrupted = stop
        except (ConservationError, IllegalTransition) as error:
            failure = f"{type(error).__name__}: {error}"
        except Exception as error:  # a bug: keep every file, and say what broke where
            failure = describe_error(error)
        wall = time.perf_counter() - started
        if summary is None:
            summary = world.summary()
        written, problem = write_operator_files(world, out)
        files += written
        if scenario.partner_requests:
            write_json(out / PARTNER_REQUESTS_FILE, partner_requests_document(world))
            files.append(PARTNER_REQUESTS_FILE)
        failure = failure or problem
        if recorder is not None:
            recorder.finish()
            with atomic_stream(out / "metrics.om") as stream:
                epoch_s = scenario.epoch.timestamp()
                more = outputs.more_metrics(epoch_s) if outputs.more_metrics is not None else ""
                recorder.write_openmetrics(stream, epoch_s, more)
            files.append("metrics.om")
        if spans is not None and writer is not None:
            for views in spans.traces(until=world.now).views():
                writer.add(views)
            writer.close()
            files.append("traces.otlp.jsonl")
    report = RunReport(summary, wall, files, failure, interrupted=interrupted)
    if spans is not None and outputs.otlp_endpoint is not None and interrupted is None:
        try:
            report.exported_spans = export_otlp_http(spans.traces(until=world.now), outputs.otlp_endpoint,
                                                     scenario.epoch_ns, resource)
        except OtlpExportError as error:
            report.failure = report.failure or f"OTLP export to {outputs.otlp_endpoint} failed: {error}"
    write_json(out / "result.json", result_document(scenario_file, world, end, report))
    write_jsonl(out / "audit.jsonl", ({"time": row.time, "action": row.action, "target": row.target, **row.details}
                                      for row in world.audit_rows()))
    return report


#: The operator files every run writes, in the order they are read (the alerts read upserts the inbox).
OPERATOR_FILES: Final[tuple[str, ...]] = ("alerts.json", "inbox.json", "dead-letters.json")


def alerts_document(world: World) -> dict[str, Any]:
    """alerts.json: the alerts as an operator opening the Alerts page reads them now, when
    each of them started firing (``firingSince``: the evaluation that first saw it, the time
    of its latest ``alert_fired`` transition; Beam's own ``startedAt`` is the newest sample's
    request time, §9.3), and every transition the engine recorded."""
    alerts = world.alerts.evaluate()
    since = world.alerts.since
    return {"alerts": [alert.view() for alert in alerts],
            "firingSince": {alert.id: since[alert.id] for alert in alerts},
            "transitions": [transition.view() for transition in world.alerts.transitions]}


def inbox_document(world: World) -> dict[str, Any]:
    """inbox.json: the inbox summary, its items in the inbox's order, and which write set
    each item's ``updatedAt`` (``updatedBy``: item id → created, alert read, upsert, patch
    or sync; the same write is the item's last ``inbox_updated`` event)."""
    items = world.inbox.items(limit=MAX_LIMIT)
    return {"summary": world.inbox.summary().view(), "items": [item.view() for item in items],
            "updatedBy": {str(item.id): world.inbox.updated_by(item.id) for item in items}}


def dead_letters_document(world: World) -> dict[str, Any]:
    """dead-letters.json: the dead-letter page (its rows carry no payload or response)."""
    return world.exports.dead_letters(limit=500).view()


_OPERATOR_DOCUMENTS: Final[dict[str, Callable[[World], dict[str, Any]]]] = {
    "alerts.json": alerts_document, "inbox.json": inbox_document, "dead-letters.json": dead_letters_document,
}


#: Written when the scenario declares partner requests: each with its go-live plan.
PARTNER_REQUESTS_FILE: Final[str] = "partner-requests.json"


def partner_requests_document(world: World) -> dict[str, Any]:
    """partner-requests.json: each partner request the scenario declares as the operator's
    API shows it now (stage, owner, next action, ``blockedPrerequisites``, attention), with
    its declared go-live plan (``goLive``)."""
    return {"requests": [{**world.partners.view(request), "goLive": spec.go_live.model_dump(mode="json")}
                         for request, spec in world.partner_request_plans()]}


def write_operator_files(world: World, out: Path) -> tuple[list[str], str | None]:
    """Write :data:`OPERATOR_FILES` into ``out``; return the names written and, if one
    could not be written, why (the others are written all the same)."""
    written: list[str] = []
    problem: str | None = None
    for name in OPERATOR_FILES:
        try:
            document = _OPERATOR_DOCUMENTS[name](world)
        except Exception as error:  # a broken world must not cost the run its other files
            problem = problem or f"writing {name} failed: {type(error).__name__}: {error}"
            continue
        write_json(out / name, document)
        written.append(name)
    return written, problem


def result_document(scenario_file: Path, world: World, end: float, report: RunReport) -> dict[str, Any]:
    """result.json: status, the fully resolved scenario, seed, versions, files, summary."""
    return {
        "status": report.status,
        "error": report.failure,
        "interrupted_by": report.interrupted.name if report.interrupted else None,
        "scenario_file": shown_path(scenario_file),
        "seed": world.seed,
        "until": end,
        "reached": world.now,
        "versions": versions(),
        "files": report.files,
        "scenario": world.scenario.model_dump(mode="json", by_alias=True),
        "summary": report.summary.model_dump(mode="json"),
    }
