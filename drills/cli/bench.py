"""``beamdrill bench``: the world against a bare-SimPy reference, and telemetry costs."""

from __future__ import annotations

from typing import Annotated

import typer

from drills.cli.app import app
from drills.cli.console import console, fail_input
from simulator import Problem


@app.command(epilog="Example: beamdrill bench --intents 200000; beamdrill bench --no-world --telemetry-hours 6")
def bench(
    intents: Annotated[int, typer.Option(help="Approximate number of intents for each model.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Root seed.")] = 1,
    rounds: Annotated[int, typer.Option(help="Interleaved rounds per model; medians are compared.")] = 3,
    telemetry_hours: Annotated[float, typer.Option(
        help="Virtual hours of partner-day for the telemetry cost runs (0 skips them).")] = 12.0,
    world: Annotated[bool, typer.Option(
        help="Run the world-against-reference rounds (--no-world measures only the telemetry costs).")] = True,
) -> None:
    """Measure the world against a bare-SimPy reference model of the same flow, in one process."""
    from drills.bench import run_bench

    if intents < 1000:
        fail_input([Problem(file="(command line)", field="--intents", message=f"expected at least 1000, found {intents}")])
    if rounds < 1:
        fail_input([Problem(file="(command line)", field="--rounds", message=f"expected at least 1, found {rounds}")])
    if world:
        run_bench(intents, seed, console, rounds)
    if telemetry_hours > 0:
        from drills.bench import run_telemetry_bench

        run_telemetry_bench(seed, console, rounds, telemetry_hours)
