"""The ``beamdrill`` command line."""

from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from simulator.conservation import ConservationError
from simulator.lifecycle import STATES, IllegalTransition
from simulator.problems import InputError, Problem
from simulator.scenario import Scenario, load_scenario
from simulator.units import DURATION_HINT, parse_duration
from simulator.telemetry.metrics import MetricsRecorder
from simulator.telemetry.otlp import OtlpExportError, OtlpJsonlWriter, export_otlp_http
from simulator.telemetry.sampling import parse_sampling
from simulator.telemetry.spans import SpanRecorder
from simulator.world import Summary, World
from drills.results import EventLog, atomic_stream, versions, write_json, write_jsonl
from drills.traceview import TraceError, load_trace, render

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Rehearse Beam's runbook on a virtual-time simulation of the Beam stack.")
console = Console()
errors = Console(stderr=True)

#: Runs longer than this many virtual seconds get a progress bar.
PROGRESS_THRESHOLD = 3600.0


def fail_input(problems: list[Problem]) -> None:
    """Print one line per problem and exit 2."""
    for problem in problems:
        print(problem.line(), file=sys.stderr)
    raise typer.Exit(2)


def _duration_option(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        fail_input([Problem(file="(command line)", field=option, message=f"expected {DURATION_HINT}, found {value!r}")])
    return None


@app.command(epilog="Example: beamdrill run scenarios/partner-day.yaml --seed 3 --until 6h --out runs/day --events")
def run(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file.")],
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Virtual time to run to, e.g. 6h (default: the scenario's duration).")] = None,
    out: Annotated[Path, typer.Option(help="Result directory.")] = Path("runs/latest"),
    events: Annotated[bool, typer.Option("--events", help="Also write every event to events.jsonl.")] = False,
    metrics: Annotated[bool, typer.Option("--metrics", help="Write metrics.om: timestamped OpenMetrics for "
                                          "promtool tsdb create-blocks-from openmetrics.")] = False,
    scrape_interval: Annotated[str, typer.Option(help="Virtual seconds between metric samples.")] = "15s",
    traces: Annotated[Optional[str], typer.Option(
        help="Write traces.otlp.jsonl (OTLP JSON Lines) keeping 'all' intents, only the 'failed' (not acked) "
             "ones, or a 'sampled:0.1' fraction.")] = None,
    otlp_endpoint: Annotated[Optional[str], typer.Option(
        help="Also send the traces to this OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318/v1/traces.")] = None,
    epoch: Annotated[Optional[str], typer.Option(
        help="Wall-clock time of virtual t=0: ISO 8601 (2026-04-03T08:00:00Z), 'today' or 'yesterday' (UTC "
             "midnight). Default: the scenario's epoch.")] = None,
) -> None:
    """Run one scenario and write DIR/result.json, DIR/audit.jsonl (and DIR/events.jsonl with --events)."""
    try:
        scenario = load_scenario(scenario_file)
    except InputError as error:
        fail_input(error.problems)
    if epoch is not None:
        scenario = scenario.model_copy(update={"epoch": _epoch_option(epoch)})
    if seed is not None and seed < 0:
        fail_input([Problem(file="(command line)", field="--seed", message=f"expected a non-negative integer, found {seed}")])
    end = _duration_option(until, "--until")
    interval = _duration_option(scrape_interval, "--scrape-interval") or 0.0
    if metrics and interval <= 0:
        fail_input([Problem(file="(command line)", field="--scrape-interval",
                            message=f"expected a positive duration, found {scrape_interval!r}")])
    sampling = None
    if traces is not None or otlp_endpoint is not None:
        try:
            sampling = parse_sampling(traces or "all")
        except ValueError as error:
            fail_input([Problem(file="(command line)", field="--traces", message=str(error).removeprefix("sampling: "))])
    world = World(scenario, seed)
    recorder = MetricsRecorder(world, interval) if metrics else None
    outputs = ExitStack()
    resource = {"service.name": "beamdrill", "beamdrill.scenario": scenario.name, "beamdrill.seed": str(world.seed)}
    writer: OtlpJsonlWriter | None = None
    if traces is not None:
        writer = OtlpJsonlWriter(outputs.enter_context(atomic_stream(out / "traces.otlp.jsonl")),
                                 scenario.epoch_ns, resource)
    spans = None
    if sampling is not None:
        # Stream finished traces to the file during the run unless an endpoint needs them all after it.
        spans = SpanRecorder(world.seed, sampling, writer.add if writer is not None and otlp_endpoint is None else None)
        world.subscribe(spans)
    end = scenario.duration if end is None else end
    files = ["result.json", "audit.jsonl"]
    log = EventLog(out / "events.jsonl") if events else None
    if log is not None:
        world.subscribe(log)
        files.append("events.jsonl")
    started = time.perf_counter()
    failure: str | None = None
    summary: Summary | None = None
    try:
        summary = _run_with_progress(world, end)
    except (ConservationError, IllegalTransition) as error:
        failure = f"{type(error).__name__}: {error}"
    finally:
        if log is not None:
            log.close()
    wall = time.perf_counter() - started
    if summary is None:
        summary = world.summary()
    if recorder is not None:
        recorder.finish()
        with atomic_stream(out / "metrics.om") as stream:
            recorder.write_openmetrics(stream, scenario.epoch.timestamp())
        files.append("metrics.om")
    if spans is not None and writer is not None:
        for views in spans.traces(until=world.now).views():
            writer.add(views)
        writer.close()
        files.append("traces.otlp.jsonl")
    outputs.close()
    if spans is not None and otlp_endpoint is not None:
        try:
            exported = export_otlp_http(spans.traces(until=world.now), otlp_endpoint, scenario.epoch_ns, resource)
            console.print(f"sent {exported} spans to {otlp_endpoint}", highlight=False)
        except OtlpExportError as error:
            failure = failure or f"OTLP export to {otlp_endpoint} failed: {error}"
    result = _result(scenario_file, scenario, world, end, summary, files, failure)
    write_json(out / "result.json", result)
    write_jsonl(out / "audit.jsonl", ({"time": row.time, "action": row.action, "target": row.target, **row.details}
                                      for row in world.directory.security.audit.rows))
    _print_summary(summary, world.seed)
    console.print(f"wrote {', '.join(str(out / f) for f in files)}  "
                  f"({summary.virtual_seconds:g} virtual s in {wall:.2f} s wall)", highlight=False)
    if failure is not None:
        print(f"run failed: {failure}; partial results are in {out / 'result.json'}", file=sys.stderr)
        raise typer.Exit(1)


def _epoch_option(value: str) -> datetime:
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if value in ("today", "yesterday"):
        return today - timedelta(days=1 if value == "yesterday" else 0)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail_input([Problem(file="(command line)", field="--epoch",
                            message=f"expected an ISO 8601 time like 2026-04-03T08:00:00Z, 'today' or 'yesterday', "
                                    f"found {value!r}")])
        raise
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _run_with_progress(world: World, end: float) -> Summary:
    if end < PROGRESS_THRESHOLD:
        return world.run(until=end)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[virtual]}"),
                  TimeRemainingColumn(), console=errors, transient=True) as progress:
        task = progress.add_task("run", total=end, virtual="")

        def advance(now: float) -> None:
            progress.update(task, completed=now, virtual=f"t={now:,.0f}s")

        return world.run(until=end, progress=advance)


def _result(scenario_file: Path, scenario: Scenario, world: World, end: float, summary: Summary,
            files: list[str], failure: str | None) -> dict[str, Any]:
    return {
        "status": "failed" if failure else "completed",
        "error": failure,
        "scenario_file": str(scenario_file),
        "seed": world.seed,
        "until": end,
        "versions": versions(),
        "files": files,
        "scenario": scenario.model_dump(mode="json", by_alias=True),
        "summary": summary.model_dump(mode="json"),
    }


def _print_summary(summary: Summary, seed: int) -> None:
    table = Table(title=f"seed {seed}, {summary.virtual_seconds:g} virtual seconds")
    table.add_column("")
    for name in summary.paths:
        table.add_column(name, justify="right")
    paths = list(summary.paths.values())
    table.add_row("accepted", *(str(p.accepted) for p in paths), end_section=True)
    for state in STATES:
        table.add_row(state, *(str(p.states[state]) for p in paths))
    table.add_section()
    for bucket in ("success", "error", "in_flight"):
        table.add_row(bucket, *(str(p.buckets[bucket]) for p in paths))
    console.print(table)
    bus = summary.bus
    console.print(f"bus: {bus.attempts} attempts, {bus.retries} retries, {bus.dead_letters} dead letters "
                  f"({bus.dead_letters_total} ever), {bus.requeues} requeues, {bus.deduped} deduped, "
                  f"rejected {bus.rejections_by_code or 'none'}", highlight=False)
    directory = summary.directory
    console.print(f"directory: failures {directory.failures_by_code or 'none'}, "
                  f"rejected {directory.rejections_by_code or 'none'}", highlight=False)
    console.print(f"shield: {directory.shield_decisions}; audit {directory.audit_actions or 'none'}", highlight=False)
    if directory.stops or directory.restarts:
        stops = ", ".join(f"t={time:g}s ({reason})" for time, reason in directory.stops)
        console.print(f"directory stopped {len(directory.stops)} times: {stops}; restarted {directory.restarts} times",
                      highlight=False)
    for run in summary.quote_runs[:3]:
        console.print(f"quote {run.quote_nonce}: {run.quote_status}, total {run.total_price_eur}, "
                      f"inventory {run.inventory_status}, preflight bus {run.preflight_bus_status} / "
                      f"directory {run.preflight_directory_status}", highlight=False)
    if len(summary.quote_runs) > 3:
        acked = sum(run.quote_status == "acked" for run in summary.quote_runs)
        console.print(f"... {len(summary.quote_runs) - 3} more quote runs; {acked} of {len(summary.quote_runs)} acked")
    if summary.conservation:
        console.print(f"conservation VIOLATED: {summary.conservation}", style="bold red", highlight=False)


@app.command(epilog="Example: beamdrill run scenarios/demo.yaml --events --out runs/demo && "
                    "beamdrill trace NONCE --run runs/demo")
def trace(
    nonce: Annotated[str, typer.Argument(help="The intent's nonce.")],
    run_dir: Annotated[Path, typer.Option("--run", help="A run directory written with --events.")] = Path("runs/latest"),
) -> None:
    """Show one intent as the runbook opens it: stages, retries, Shield context, audit, guidance."""
    try:
        found = load_trace(run_dir, nonce)
    except TraceError as error:
        fail_input(error.problems)
    for line in render(found):
        console.print(line, markup=False, highlight=False)


@app.command(epilog="Example: beamdrill bench --intents 200000")
def bench(
    intents: Annotated[int, typer.Option(help="Approximate number of intents for each model.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Root seed.")] = 1,
    rounds: Annotated[int, typer.Option(help="Interleaved rounds per model; medians are compared.")] = 3,
    telemetry_hours: Annotated[float, typer.Option(
        help="Virtual hours of partner-day for the telemetry cost runs (0 skips them).")] = 12.0,
) -> None:
    """Measure the world against a bare-SimPy reference model of the same flow, in one process."""
    from drills.bench import run_bench

    if intents < 1000:
        fail_input([Problem(file="(command line)", field="--intents", message=f"expected at least 1000, found {intents}")])
    if rounds < 1:
        fail_input([Problem(file="(command line)", field="--rounds", message=f"expected at least 1, found {rounds}")])
    run_bench(intents, seed, console, rounds)
    if telemetry_hours > 0:
        from drills.bench import run_telemetry_bench

        run_telemetry_bench(seed, console, rounds, telemetry_hours)


def main() -> None:
    """Entry point of the ``beamdrill`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        errors.print("interrupted")
        sys.exit(130)
