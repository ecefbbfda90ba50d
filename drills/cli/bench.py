"""``beamdrill bench``: the performance cases against their wanted bounds, and telemetry costs."""

from __future__ import annotations

from typing import Annotated

import typer

from drills.cli.app import app
from drills.cli.console import console, errors, fail_input, json_option, print_json
from simulator import Problem


@app.command(epilog="Examples: beamdrill bench --quick (what make bench runs); beamdrill bench --json > bench.json")
def bench(
    quick: Annotated[bool, typer.Option(
        "--quick", help="Smaller runs (200,000 intents for partner-day, 50,000 per ring, 3 telemetry hours), "
                        "a few minutes; the bounds about a million intents are shown, not judged.")] = False,
    intents: Annotated[int | None, typer.Option(
        help="Intents of partner-day's long run (default 1,000,000; 200,000 with --quick).")] = None,
    seed: Annotated[int, typer.Option(help="Root seed.")] = 1,
    rounds: Annotated[int | None, typer.Option(help="Interleaved rounds of every case (default 3).")] = None,
    telemetry_hours: Annotated[float | None, typer.Option(
        help="Virtual hours of partner-day for the telemetry cost runs (default 12; 3 with --quick; 0 skips them).")]
    = None,
    sweeps: Annotated[bool, typer.Option(
        "--sweeps", help="Only the sweep case: the same runs of a few seconds on 1 worker, a pool of 2 and Dask "
                         "(2 workers on loopback); the speed-up and Dask's overhead per run.")] = False,
    as_json: Annotated[bool, json_option("the table and the memory checkpoints")] = False,
) -> None:
    """Measure the world's performance cases in one process, in interleaved rounds, beside the
    bounds wanted of them: partner-day against a bare-SimPy reference of the same flow, the
    cost per intent from 10 to 10,000 agents and from 10,000 to a million intents, loading a
    10,000-agent scenario, peak memory, and what each telemetry sink costs."""
    from drills.benchmark.modes import FULL, QUICK
    from drills.benchmark.report import cases_table, conditions_line, memory_table
    from drills.benchmark.rounds import Sample
    from drills.benchmark.run import run_cases

    base = QUICK if quick else FULL
    config = base.model_copy(update={
        "intents": base.intents if intents is None else intents,
        "rounds": base.rounds if rounds is None else rounds,
        "seed": seed,
        "telemetry_hours": base.telemetry_hours if telemetry_hours is None else telemetry_hours,
    })
    least = 2 * config.small_intents
    problems = []
    if config.intents < least:
        problems.append(Problem(file="(command line)", field="--intents",
                                message=f"expected at least {least:,} (twice the short run's), found {config.intents}"))
    if config.rounds < 1:
        problems.append(Problem(file="(command line)", field="--rounds",
                                message=f"expected at least 1, found {config.rounds}"))
    if config.telemetry_hours < 0:
        problems.append(Problem(file="(command line)", field="--telemetry-hours",
                                message=f"expected 0 or more, found {config.telemetry_hours:g}"))
    if problems:
        fail_input(problems)
    if sweeps:
        _sweep_case(config.rounds, as_json)
        return
    out = errors if as_json else console  # with --json, progress and the telemetry tables go to stderr

    def progress(number: int, job: str, sample: Sample) -> None:
        out.print(f"  round {number}/{config.rounds}  {job}: {sample.seconds:.2f} s CPU"
                  + (f", {sample.units:,} intents, {sample.cost * 1e6:.1f} µs each" if sample.units > 1 else ""),
                  highlight=False)

    report = run_cases(config, progress)
    if not as_json:
        console.print(cases_table(report))
        console.print(memory_table(report.checkpoints))
        console.print(conditions_line(report.conditions), highlight=False)
    if report.conservation:
        out.print(f"conservation VIOLATED: {report.conservation}", style="bold red")
    if as_json:
        print_json(report.model_dump(mode="json"))


def _sweep_case(rounds: int, as_json: bool) -> None:
    """``bench --sweeps``: case (g) alone, its table (or its rows as JSON)."""
    import os

    from drills.benchmark.report import format_figure
    from drills.benchmark.sweeps import sweep_rows
    from drills.runs.wholetable import WholeTable

    load_at_start = os.getloadavg()
    rows = sweep_rows(rounds)
    if as_json:
        print_json({"rows": [entry.model_dump(mode="json") for entry in rows], "load_at_start": load_at_start,
                    "load_at_end": os.getloadavg(), "cpus": os.cpu_count()})
        return
    table = WholeTable(title=f"beamdrill bench --sweeps: {rounds} rounds, wall clock")
    for column in ("case", "figure", "best", "median", "wanted", "verdict", "run"):
        table.add_column(column, justify="right" if column in ("best", "median", "wanted") else "left")
    for entry in rows:
        table.add_row(entry.case, entry.figure, format_figure(entry.best, entry.unit),
                      format_figure(entry.median, entry.unit),
                      entry.bound.text(entry.unit) if entry.bound is not None else "", entry.verdict or "", entry.note)
    console.print(table)
    end = os.getloadavg()
    console.print(f"load average {load_at_start[0]:.2f} at the start, {end[0]:.2f} at the end, "
                  f"{os.cpu_count()} CPUs", highlight=False)
