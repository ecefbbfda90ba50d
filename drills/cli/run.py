"""``beamdrill run SCENARIO``: run one scenario and write its result directory."""

from __future__ import annotations

import math
import sys
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Annotated, Final, Optional
from urllib.parse import urlsplit

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from drills.cli.app import app
from drills.cli.console import console, errors, fail_input
from drills.cli.workload import ALLOW_LARGE_HELP, too_large
from drills.runs.ending import unfinished_exit_code
from drills.runs.interrupt import StopRequest, stop_on_signals
from drills.runs.resultdir import OutError, ResultDirectory
from drills.runs.runner import Outputs, run_world
from drills.runs.wholetable import WholeTable
from simulator import InputError, Problem, Summary, World, load_scenario
from simulator.kernel.lifecycle import STATES
from simulator.kernel.units import DURATION_HINT, parse_duration
from simulator.telemetry.sampling import parse_sampling

#: Runs longer than this many virtual seconds get a progress bar.
PROGRESS_THRESHOLD: Final[float] = 3600.0
#: The most virtual seconds run between two checks for a stop (SIGINT, SIGTERM).
SLICE: Final[float] = 60.0
MAX_SLICES: Final[int] = 100_000


def _duration_option(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as error:
        message = str(error) if "at most" in str(error) else f"expected {DURATION_HINT}, found {value!r}"
        fail_input([Problem(file="(command line)", field=option, message=message)])
    return None


def _option_problem(option: str, message: str) -> None:
    fail_input([Problem(file="(command line)", field=option, message=message)])


@app.command(epilog="Example: beamdrill run scenarios/partner-day.yaml --seed 3 --until 6h --out runs/day --events")
def run(
    scenario_file: Annotated[Path, typer.Argument(metavar="SCENARIO", help="Scenario YAML file.")],
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the scenario's).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Virtual time to run to, e.g. 6h (default: the scenario's duration).")] = None,
    out: Annotated[Path, typer.Option(help="Result directory; an earlier run's files there are replaced.")] = Path("runs/latest"),
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
    allow_large: Annotated[bool, typer.Option("--allow-large", help=ALLOW_LARGE_HELP)] = False,
    history: Annotated[Optional[bool], typer.Option(
        "--history/--no-history",
        help="Check the delivery history, Jepsen style (lost, duplicated, unexpected, recovered) into "
             "result.json; a lost or unexpected intent fails the run. Default: on with --events or --traces, "
             "which turn the event stream on anyway; alone it costs about that much.")] = None,
) -> None:
    """Run one scenario and write DIR/result.json, DIR/audit.jsonl (and DIR/events.jsonl with --events).

    Every option is checked before the run starts. SIGINT or SIGTERM stops the run at the
    virtual time reached and still writes every file (status: interrupted)."""
    if seed is not None and seed < 0:
        _option_problem("--seed", f"expected a non-negative integer, found {seed}")
    end = _duration_option(until, "--until")
    interval = _duration_option(scrape_interval, "--scrape-interval") or 0.0
    if metrics and interval <= 0:
        _option_problem("--scrape-interval", f"expected a positive duration, found {scrape_interval!r}")
    sampling = None
    if traces is not None or otlp_endpoint is not None:
        try:
            sampling = parse_sampling(traces or "all")
        except ValueError as error:
            _option_problem("--traces", str(error).removeprefix("sampling: "))
    if otlp_endpoint is not None:
        url = urlsplit(otlp_endpoint)
        if url.scheme not in ("http", "https") or not url.netloc:
            _option_problem("--otlp-endpoint", f"expected an http:// or https:// URL, found {otlp_endpoint!r}")
    when = _epoch_option(epoch) if epoch is not None else None
    try:
        scenario = load_scenario(scenario_file)
    except InputError as error:
        fail_input(error.problems)
    if when is not None:
        scenario = scenario.model_copy(update={"epoch": when})
    stop_at = scenario.duration if end is None else end
    large = None if allow_large else too_large(scenario, stop_at, scenario_file)
    if large is not None:
        fail_input([large])
    world = World(scenario, seed)
    if history if history is not None else (events or sampling is not None):
        world.check_history()
    try:
        result = ResultDirectory(out)
    except OutError as error:
        fail_input(error.problems)
    outputs = Outputs(out=result.staging, events=events, scrape_interval=interval if metrics else None,
                      sampling=sampling, traces_file=traces is not None, otlp_endpoint=otlp_endpoint)
    try:
        with stop_on_signals() as stop:
            report = run_world(world, scenario_file, stop_at, outputs, partial(_run_with_progress, stop=stop))
    finally:
        result.publish()
    _print_summary(report.summary, world.seed)
    if report.exported_spans is not None:
        console.print(f"sent {report.exported_spans} spans to {otlp_endpoint}", highlight=False)
    console.print(f"wrote {', '.join(report.files)} {result.note()}  "
                  f"({report.summary.virtual_seconds:g} virtual s in {report.wall:.2f} s wall)", highlight=False)
    code = unfinished_exit_code(report, f"t={world.now:g}s of {stop_at:g}s", out)
    if code is not None:
        raise typer.Exit(code)


def _epoch_option(value: str) -> datetime:
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    if value in ("today", "yesterday"):
        return today - timedelta(days=1 if value == "yesterday" else 0)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _option_problem("--epoch", f"expected an ISO 8601 time like 2026-04-03T08:00:00Z, 'today' or 'yesterday', "
                                   f"found {value!r}")
        raise
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _run_with_progress(world: World, end: float, stop: StopRequest) -> Summary:
    """Run in slices of at most :data:`SLICE` virtual seconds, checking for a stop between
    them; show a bar on a terminal, a line per tenth otherwise, for runs past an hour."""
    steps = min(MAX_SLICES, max(100, math.ceil((end - world.now) / SLICE)))
    if end < PROGRESS_THRESHOLD:
        return world.run(until=end, progress=stop.check, steps=steps)
    if not errors.is_interactive:  # a file, a pipe or a dumb terminal: no bar, and no blank line after it
        shown = [0]

        def report(now: float) -> None:
            stop.check()
            tenth = int(10 * now / end) if end else 10
            if tenth > shown[0]:
                shown[0] = tenth
                print(f"simulating: {10 * tenth}% (t={now:,.0f}s of {end:,.0f}s)", file=sys.stderr, flush=True)

        return world.run(until=end, progress=report, steps=steps)
    with Progress(TextColumn("simulating"), BarColumn(), TextColumn("{task.fields[virtual]}"),
                  TimeRemainingColumn(), console=errors, transient=True) as progress:
        task = progress.add_task("run", total=end, virtual="")

        def advance(now: float) -> None:
            stop.check()
            progress.update(task, completed=now, virtual=f"t={now:,.0f}s")

        return world.run(until=end, progress=advance, steps=steps)


def _print_summary(summary: Summary, seed: int) -> None:
    table = WholeTable(title=f"seed {seed}, {summary.virtual_seconds:g} virtual seconds")
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
    history = summary.history
    if history is not None:
        console.print(f"history: {history.attempted} attempted, {history.acknowledged} acknowledged, {history.ok} ok, "
                      f"{history.lost} lost, {history.duplicated} duplicated, {history.unexpected} unexpected, "
                      f"{history.recovered} recovered, {history.in_flight} in flight",
                      style=None if history.valid else "bold red", highlight=False)
    if summary.conservation:
        console.print(f"conservation VIOLATED: {summary.conservation}", style="bold red", highlight=False)
