"""``beamdrill gameday DRILL|SCENARIO``: the drill's world in real time behind Beam's
operator API, a live ``/metrics`` and a web console; graded when it ends."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Annotated, Final, Optional

import typer

from drills.cli.app import app
from drills.cli.console import console, fail_input
from drills.cli.workload import ALLOW_LARGE_HELP, too_large
from drills.drillfile.loader import DrillError
from drills.gameday.server import LOOPBACK, GameDay, port_problem, run_gameday
from drills.gameday.session import MAX_SPEED, load_gameday
from drills.runs.interrupt import stop_on_signals
from drills.runs.resultdir import OutError, ResultDirectory
from simulator.kernel.problems import Problem

#: The environment variable a token may come from instead of ``--token``.
TOKEN_ENV: Final[str] = "BEAMDRILL_GAMEDAY_TOKEN"
_LINE = "(command line)"


@app.command(epilog="Example: beamdrill gameday fm3-dead-letter --speed 10   |   "
                    "beamdrill gameday scenarios/partner-day.yaml --speed 60 --host 0.0.0.0 --token $(openssl rand -hex 16)")
def gameday(
    name: Annotated[str, typer.Argument(metavar="DRILL|SCENARIO", help="A built-in drill, a drill file or a scenario file.")],
    speed: Annotated[float, typer.Option(help=f"Virtual seconds per wall second (at most {MAX_SPEED:g}).")] = 1.0,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8765,
    token: Annotated[Optional[str], typer.Option(help=f"Bearer token every request must carry (or ${TOKEN_ENV}).")] = None,
    out: Annotated[Path, typer.Option(help="Directory for the proof pack and the score.")] = Path("runs/gameday"),
    seed: Annotated[Optional[int], typer.Option(help="Root seed (default: the drill's).")] = None,
    allow_large: Annotated[bool, typer.Option("--allow-large", help=ALLOW_LARGE_HELP)] = False,
) -> None:
    """Run a GameDay: operators work the drill live; the proof pack and score.json are written at the end."""
    problems: list[Problem] = []
    if not (math.isfinite(speed) and 0 < speed <= MAX_SPEED):
        problems.append(Problem(file=_LINE, field="--speed", message=f"expected a number above 0 and at most {MAX_SPEED:g}, found {speed:g}"))
    if not 0 < port < 65536:
        problems.append(Problem(file=_LINE, field="--port", message=f"expected a TCP port from 1 to 65535, found {port}"))
    if seed is not None and seed < 0:
        problems.append(Problem(file=_LINE, field="--seed", message=f"expected a non-negative integer, found {seed}"))
    token = token if token is not None else os.environ.get(TOKEN_ENV) or None
    if token is not None and (len(token) < 8 or not token.isascii() or not token.isprintable() or " " in token):
        problems.append(Problem(file=_LINE, field="--token", message="expected at least 8 printable ASCII characters without spaces"))
    if host not in LOOPBACK and token is None:
        problems.append(Problem(file=_LINE, field="--host",
                                message=f"expected --token (or ${TOKEN_ENV}) to listen on {host}, which is not loopback"))
    if problems:
        fail_input(problems)
    try:
        loaded = load_gameday(name)
    except DrillError as error:
        fail_input(error.problems)
    if not allow_large and (problem := too_large(loaded.scenario, loaded.scenario.duration, loaded.path)):
        fail_input([problem])
    busy = port_problem(host, port)
    if busy is not None:
        fail_input([Problem(file=_LINE, field="--port", message=f"expected a free port on {host}, found {port}: {busy.lower()}")])
    try:
        result = ResultDirectory(out)
    except OutError as error:
        fail_input(error.problems)

    def ready(url: str) -> None:
        console.print(f"GameDay {loaded.name} at x{speed:g} on {url} (console at /, metrics at /metrics"
                      f"{', bearer token required' if token else ''}); Ctrl-C ends it and writes the proof pack",
                      highlight=False)

    try:
        with stop_on_signals() as stop:
            day = GameDay(host=host, port=port, token=token, speed=speed, stop=stop, ready=ready)
            finished = run_gameday(loaded, result.staging, day, seed)
    finally:
        result.publish()
    outcome, graded = finished.outcome, finished.score
    line = f"GameDay {loaded.name}: {outcome.verdict} at t={outcome.journal.virtual_duration:g}s"
    if graded is not None:
        line += (f", expectations {graded.expectations_held}/{graded.expectations_total}, "
                 f"{len(graded.violations)} runbook rules broken, lag p99 "
                 f"{'n/a' if graded.lag_p99 is None else f'{graded.lag_p99:.3f}'} virtual s")
    console.print(line, highlight=False)
    console.print(f"wrote the proof pack, score.json and score.md {result.note()}", highlight=False)
    interrupted = outcome.run.interrupted if outcome.run is not None else None
    if interrupted is not None:
        print(f"interrupted by {interrupted.name}: the files hold the GameDay up to "
              f"t={outcome.journal.virtual_duration:g}s in {out}", file=sys.stderr)
        raise typer.Exit(interrupted.exit_code)
    if outcome.verdict != "completed":
        raise typer.Exit(1)
