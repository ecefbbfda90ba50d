"""``beamdrill trace|inbox|alerts|dead-letters --run DIR``: what an operator opens after a
run, read back from its result directory; with ``--json``, the records it is read from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from drills.cli.app import app
from drills.cli.console import console, fail_input, json_option, print_json
from drills.runs.operatorview import (OperatorViewError, alerts_document, alerts_view, dead_letters_document,
                                      dead_letters_view, inbox_document, inbox_view)
from drills.runs.traceview import TraceError, load_trace, render
from simulator import Problem
from simulator.operator.inbox import STATUSES, normalize_status

RunOption = Annotated[Path, typer.Option("--run", help="A run directory written by beamdrill run.")]


@app.command(epilog="Example: beamdrill run scenarios/demo.yaml --events --out runs/demo && "
                    "beamdrill trace NONCE --run runs/demo")
def trace(
    nonce: Annotated[str, typer.Argument(help="The intent's nonce.")],
    run_dir: Annotated[Path, typer.Option("--run", help="A run directory written with --events.")] = Path("runs/latest"),
    as_json: Annotated[bool, json_option("the trace record the view is built from")] = False,
) -> None:
    """Show one intent as the runbook opens it: stages, retries, Shield context, audit, guidance."""
    try:
        found = load_trace(run_dir, nonce)
    except TraceError as error:
        fail_input(error.problems)
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    for line in render(found):
        console.print(line, markup=False, highlight=False)


@app.command(epilog="Example: beamdrill run scenarios/partner-incident.yaml --until 1h --out runs/incident && "
                    "beamdrill inbox --run runs/incident --status new")
def inbox(
    run_dir: RunOption = Path("runs/latest"),
    status: Annotated[Optional[str], typer.Option(help="Only items in this status: new, acknowledged or acted.")] = None,
    as_json: Annotated[bool, json_option("DIR/inbox.json (with --status, only those items)")] = False,
) -> None:
    """Show the operator inbox at the end of a run (DIR/inbox.json): summary, then the items."""
    wanted = None if status is None else normalize_status(status)
    if status is not None and wanted is None:
        fail_input([Problem(file="(command line)", field="--status",
                            message=f"expected one of {', '.join(STATUSES)}, found {status!r}")])
    try:
        if as_json:
            print_json(inbox_document(run_dir, wanted))
            return
        view = inbox_view(run_dir, wanted)
    except OperatorViewError as error:
        fail_input(error.problems)
    console.print(view)


@app.command(epilog="Example: beamdrill run scenarios/partner-incident.yaml --until 1h --out runs/incident && "
                    "beamdrill alerts --run runs/incident")
def alerts(run_dir: RunOption = Path("runs/latest"),
           as_json: Annotated[bool, json_option("DIR/alerts.json")] = False) -> None:
    """Show the alerts firing at the end of a run and when each fired, changed and cleared (DIR/alerts.json)."""
    try:
        if as_json:
            print_json(alerts_document(run_dir))
            return
        view = alerts_view(run_dir)
    except OperatorViewError as error:
        fail_input(error.problems)
    console.print(view)


@app.command("dead-letters", epilog="Example: beamdrill run scenarios/partner-incident.yaml --until 1h --out "
                                    "runs/incident && beamdrill dead-letters --run runs/incident")
def dead_letters(run_dir: RunOption = Path("runs/latest"),
                 as_json: Annotated[bool, json_option("DIR/dead-letters.json")] = False) -> None:
    """Show the dead-letter page at the end of a run (DIR/dead-letters.json): figures, rows, requeue hints."""
    try:
        if as_json:
            print_json(dead_letters_document(run_dir))
            return
        view = dead_letters_view(run_dir)
    except OperatorViewError as error:
        fail_input(error.problems)
    console.print(view)
