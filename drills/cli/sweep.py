"""``beamdrill sweep SWEEP.yaml``: run a grid of worlds and compare them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any, Optional
from urllib.parse import urlsplit

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from drills.cli.app import app
from drills.cli.console import console, errors, fail_input, json_option, print_json
from drills.runs.interrupt import stop_on_signals
from drills.runs.wholetable import WholeTable
from drills.sweep.builtin import resolve_sweep
from drills.sweep.executors import DaskCluster, Unreachable, executor_for
from drills.sweep.grid import Plan, load_plan
from drills.sweep.run import SweepOutcome, run_sweep
from simulator import InputError, Problem

#: Measures the table on the console shows (report.md has them all).
TABLE_MEASURES = ("goodput", "latency_p99", "dead_letters", "attempts_per_intent", "peak_queue_depth",
                  "time_to_recover")
#: The same for a rollout sweep.
ROLLOUT_TABLE_MEASURES = ("caught_at_first_step", "failed", "inconclusive", "promoted", "rolled_back_within_limit",
                          "rollback_seconds", "blast_radius_intents")


@app.command(epilog="Example: beamdrill sweep sweeps/retries-under-load.yaml --workers 2 --out runs/sweeps/retries; "
                     "beamdrill sweep metastability")
def sweep(
    sweep_name: Annotated[str, typer.Argument(metavar="SWEEP", help="Sweep YAML file, or a built-in sweep's name "
                                                                    "(retries-under-load, retry-policies, "
                                                                    "backoff-contention, metastability, "
                                                                    "judge-power).")],
    workers: Annotated[Optional[int], typer.Option(
        help="Worker processes (default: the CPUs; 1 runs in this process).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Run on a Dask distributed scheduler, e.g. tcp://127.0.0.1:8786, instead of local processes.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Output directory (default runs/sweeps/NAME).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the runs already checkpointed in --out; run only "
                                                          "the missing and failed ones.")] = False,
    as_json: Annotated[bool, json_option("DIR/summary.json")] = False,
) -> None:
    """Run every cell of a sweep's grid once per replication, checkpoint each run as it
    finishes, then write sweep.json, cells.jsonl, cells.csv, summary.json, report.md and
    charts/ (each measure against the x axis, with 95 % bands). The world is a scenario, a
    drill, or a canary rollout (its measures: caught at the first step, failed, promoted,
    ..., with Wilson intervals on the shares).

    SIGINT or SIGTERM stops the sweep: the finished runs are already on disk, the report of
    what is done is written, and --resume runs the rest."""
    problems = []
    if workers is not None and workers < 1:
        problems.append(Problem(file="(command line)", field="--workers", message=f"expected at least 1, found {workers}"))
    if scheduler is not None:
        address = urlsplit(scheduler)
        if address.scheme != "tcp" or not address.hostname or address.port is None:
            problems.append(Problem(file="(command line)", field="--scheduler",
                                    message=f"expected a Dask scheduler address like tcp://127.0.0.1:8786, found {scheduler!r}"))
    sweep_file = resolve_sweep(sweep_name)
    if isinstance(sweep_file, Problem):
        fail_input([*problems, sweep_file])
        return
    if problems:
        fail_input(problems)
    try:
        plan = load_plan(sweep_file)
    except InputError as error:
        fail_input(error.problems)
    target = out if out is not None else Path("runs/sweeps") / plan.sweep.name
    if target.exists() and not target.is_dir():
        fail_input([Problem(file="(command line)", field="--out", message=f"expected a directory, found a file {str(target)!r}")])
    executor = executor_for(workers if workers is not None else (os.cpu_count() or 1), scheduler)
    if isinstance(executor, DaskCluster):
        try:
            executor.connect()
        except Unreachable as error:
            fail_input([Problem(file="(command line)", field="--scheduler", message=str(error))])
    outcome = _run(plan, executor, target, resume)
    if as_json:
        print_json(outcome.summary)
    else:
        console.print(_table(plan, outcome.summary))
    failed = f", {outcome.failed} failed" if outcome.failed else ""
    print(f"{outcome.ran} runs on {executor.name}, {outcome.reused} kept from before{failed}; "
          f"wrote {target / 'report.md'}", file=sys.stderr)
    if outcome.interrupted is not None:
        print(f"interrupted by {outcome.interrupted.name}: {len(outcome.records)} of "
              f"{outcome.summary['runs_total']} runs done, written in {target}; --resume runs the rest",
              file=sys.stderr)
        raise typer.Exit(outcome.interrupted.exit_code)
    if outcome.failed:
        raise typer.Exit(1)


def _run(plan: Plan, executor: Any, out: Path, resume: bool) -> SweepOutcome:
    """Run with a progress bar on a terminal (runs done, failed, time left)."""
    with stop_on_signals() as stop, Progress(
            TextColumn("sweep {task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(), TimeRemainingColumn(),
            console=errors, transient=True, disable=not errors.is_interactive) as progress:
        task = progress.add_task(plan.sweep.name, total=None, failed=0)
        failed = [0]

        def start(todo: int, reused: int) -> None:
            progress.update(task, total=todo + reused, completed=reused)

        def record(done: dict[str, Any]) -> None:
            failed[0] += done["status"] != "ok"
            progress.update(task, advance=1, failed=failed[0])

        return run_sweep(plan, executor, out, resume, stop, start, record)


def _table(plan: Plan, summary: dict[str, Any]) -> WholeTable:
    table = WholeTable(title=f"{plan.sweep.name}: mean [95% interval] over {len(plan.seeds)} replications")
    for axis in plan.axes:
        table.add_id_column(axis.label)
    table.add_column("runs", justify="right")
    wanted = ROLLOUT_TABLE_MEASURES if plan.sweep.is_rollout else TABLE_MEASURES
    shown = [m for m in wanted if m in plan.sweep.measures]
    for measure in shown:
        table.add_column(measure, justify="right")
    for cell, entry in zip(plan.cells, summary["cells"]):
        values = []
        for measure in shown:
            estimate = entry["measures"][measure]
            mean, low, high = estimate["mean"], estimate["low"], estimate["high"]
            values.append("—" if mean is None else f"{mean:.4g}" if low is None else f"{mean:.4g} [{low:.3g}, {high:.3g}]")
        table.add_row(*(axis.text(level) for axis, level in zip(plan.axes, cell.levels)),
                      f"{entry['runs'] - entry['failed']}/{len(plan.seeds)}",
                      *values)
    return table
