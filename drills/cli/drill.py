"""``beamdrill drill list|show|check|run``: the fire drills from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from drills.drillfile.builtin import builtin_drills, resolve
from drills.cli.console import console, errors, fail_input, json_option, print_json
from drills.cli.workload import ALLOW_LARGE_HELP, too_large
from drills.drillfile.describe import describe
from drills.drillfile.listing import DrillList, DrillListing
from drills.drillfile.loader import DrillError, LoadedDrill, load_drill
from drills.executor.execute import DrillOutcome, run_drill
from drills.executor.journal import VERDICTS
from drills.runs.drillsummary import DrillRunSummary
from drills.runs.files import write_json
from drills.runs.wholetable import WholeTable
from drills.runs.interrupt import stop_on_signals
from drills.runs.resultdir import OutError, ResultDirectory
from simulator.kernel.problems import Problem

drill_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None,
                        help="Fire drills: run the runbook's drills and check their expected states.")


def _load(names: list[str]) -> list[LoadedDrill]:
    """Load every drill named; exit 2 with every problem of every file if any is wrong."""
    problems: list[Problem] = []
    loaded: list[LoadedDrill] = []
    for name in names:
        path = resolve(name)
        if isinstance(path, Problem):
            problems.append(path)
            continue
        try:
            loaded.append(load_drill(path))
        except DrillError as error:
            problems += error.problems
    if problems:
        fail_input(problems)
    return loaded


@drill_app.command("list", epilog="Example: beamdrill drill list   |   beamdrill drill list --json")
def list_drills(as_json: Annotated[bool, json_option("one record per drill")] = False) -> None:
    """List the built-in drills: name, what each rehearses, its title, how many expectations it checks."""
    listed = DrillList(drills=[DrillListing.of(loaded) for loaded in _load([str(path) for path in builtin_drills()])])
    if as_json:
        print_json(listed.model_dump(mode="json"))
        return
    table = WholeTable()
    table.add_id_column("drill")
    table.add_id_column("rehearses")
    table.add_column("title")
    table.add_column("expectations", justify="right", no_wrap=True)
    for drill in listed.drills:
        table.add_row(drill.drill, drill.rehearses, drill.title, str(drill.expectations))
    console.print(table)


@drill_app.command(epilog="Example: beamdrill drill show fm3-dead-letter   |   beamdrill drill show my-drill.yaml --json")
def show(
    name: Annotated[str, typer.Argument(metavar="DRILL", help="A built-in drill name or a drill file.")],
    as_json: Annotated[bool, json_option("the validated drill (every default written out)")] = False,
) -> None:
    """Show a drill as it will run: its scenario and seed, faults, steps with their times,
    expectations with their windows, steady state, guards and rollbacks."""
    (loaded,) = _load([name])
    if as_json:
        print_json(loaded.drill.model_dump(mode="json", by_alias=True))
        return
    for line in describe(loaded):
        console.print(line, markup=False, highlight=False)


@drill_app.command(epilog="Example: beamdrill drill check drills/catalog/fm3-dead-letter.yaml my-drill.yaml")
def check(files: Annotated[list[str], typer.Argument(metavar="FILE...", help="Drill YAML files or built-in names.")]) -> None:
    """Validate drill files (and the scenarios they run on) without running them; exit 2 on any problem."""
    for loaded in _load(files):
        drill = loaded.drill
        counts = ", ".join(_count(len(found), noun) for found, noun in (
            (drill.faults, "fault"), (drill.steps, "step"), (drill.expectations, "expectation")))
        print(f"{loaded.path}: ok ({drill.rehearses}, {counts})")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


@drill_app.command(epilog="Example: beamdrill drill run --all --out runs/drills   |   beamdrill drill run fm3-dead-letter --seed 3")
def run(
    names: Annotated[Optional[list[str]], typer.Argument(metavar="[DRILL]...", help="Built-in drill names or drill files.")] = None,
    all_drills: Annotated[bool, typer.Option("--all", help="Run every built-in drill.")] = False,
    out: Annotated[Path, typer.Option(help="Directory for the results: one sub-directory per drill.")] = Path("runs/drills"),
    seed: Annotated[Optional[int], typer.Option(help="Root seed for every drill (default: each drill's own).")] = None,
    allow_large: Annotated[bool, typer.Option("--allow-large", help=ALLOW_LARGE_HELP)] = False,
    as_json: Annotated[bool, json_option("DIR/summary.json (the verdicts go on stderr as ever)")] = False,
) -> None:
    """Run drills and print each verdict; exit 0 only when every drill completed, 1 otherwise."""
    if seed is not None and seed < 0:
        fail_input([Problem(file="(command line)", field="--seed", message=f"expected a non-negative integer, found {seed}")])
    wanted = [str(path) for path in builtin_drills()] if all_drills else list(names or [])
    if all_drills and names:
        wanted += list(names)
    if not wanted:
        fail_input([Problem(file="(command line)", field="DRILL", message="expected drill names or files, or --all")])
    loaded = _load(list(dict.fromkeys(wanted)))
    loaded = list({drill.path.resolve(): drill for drill in loaded}.values())  # --all NAME runs NAME once
    too_many = [] if allow_large else [problem for drill in loaded
                                       if (problem := too_large(drill.scenario, drill.scenario.duration, drill.path))]
    if too_many:
        fail_input(too_many)
    try:
        result = ResultDirectory(out)
    except OutError as error:
        fail_input(error.problems)
    outcomes: list[DrillOutcome] = []
    try:
        with stop_on_signals() as stop, Progress(
                TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.fields[virtual]}"),
                TimeElapsedColumn(), console=errors, transient=True,
                disable=not errors.is_interactive) as progress:  # off a terminal, rich's bar only leaves a blank line
            total = progress.add_task("all drills", total=len(loaded), virtual="")
            for drill in loaded:
                task = progress.add_task(drill.name, total=drill.drill.duration, virtual="")

                def advance(now: float, task: TaskID = task) -> None:
                    stop.check()
                    progress.update(task, completed=now, virtual=f"t={now:,.0f}s")

                outcome = run_drill(drill, result.staging / drill.name, seed, advance)
                outcomes.append(outcome)
                progress.remove_task(task)
                progress.advance(total)
                if outcome.verdict == "interrupted":
                    break
        summary = DrillRunSummary.of(outcomes, [drill.name for drill in loaded[len(outcomes):]])
        write_json(result.staging / "summary.json", summary.model_dump(mode="json"))
        if not as_json:
            _print_verdicts(outcomes, result.out)
        _print_problems(outcomes, result.out)
    finally:
        result.publish()
    wrote = ("wrote summary.json and one directory per drill with journal.json, report.md, chart.png and metrics.om "
             f"{result.note()}")
    if as_json:
        print_json(summary.model_dump(mode="json"))  # the same text as summary.json
        print(wrote, file=sys.stderr)
    else:
        console.print(wrote, highlight=False)
    not_run = summary.not_run
    interrupted = next((o.run.interrupted for o in outcomes if o.run is not None and o.run.interrupted), None)
    if interrupted is not None:
        print(f"interrupted by {interrupted.name}: {len(outcomes) - 1} drills done, {outcomes[-1].journal.drill} "
              f"interrupted, {len(not_run)} not run; the files are in {out}", file=sys.stderr)
        raise typer.Exit(interrupted.exit_code)
    if any(outcome.verdict != "completed" for outcome in outcomes):
        raise typer.Exit(1)


def _print_verdicts(outcomes: list[DrillOutcome], out: Path) -> None:
    """The verdict table, on stdout."""
    table = WholeTable(title=f"drills ({out})")
    table.add_id_column("drill")
    table.add_column("verdict", no_wrap=True)
    for column in ("expectations", "virtual", "wall"):
        table.add_column(column, justify="right", no_wrap=True)
    styles = {"completed": "green", "deviated": "yellow", "failed": "red", "aborted": "red", "interrupted": "red"}
    for outcome in outcomes:
        journal = outcome.journal
        table.add_row(journal.drill, f"[{styles[journal.status]}]{journal.status}[/]",
                      f"{journal.expectations_held}/{journal.expectations_total}",
                      f"{journal.virtual_duration:g} s", f"{outcome.wall:.2f} s")
    console.print(table)


def _print_problems(outcomes: list[DrillOutcome], out: Path) -> None:
    """What went wrong in each drill that did not complete, on stderr."""
    for outcome in outcomes:
        journal = outcome.journal
        for warning in journal.warnings:
            print(f"{journal.drill}: warning: {warning.message}", file=sys.stderr)
        if journal.status == "completed":
            continue
        print(f"{journal.drill}: {journal.status} ({VERDICTS[journal.status]})", file=sys.stderr)
        if journal.reason:
            print(f"  {journal.reason}", file=sys.stderr)
        for deviation in journal.deviations:
            print(f"  t={deviation.time:g}s {deviation.name}: expected {deviation.expected}, observed "
                  f"{json.dumps(deviation.observed)}", file=sys.stderr)
        for violation in journal.violations:
            print(f"  t={violation.time:g}s runbook rule broken by {violation.step}: {violation.rule} "
                  f"({violation.detail})", file=sys.stderr)
        print(f"  proof pack: {out / outcome.journal.drill / 'report.md'}", file=sys.stderr)
