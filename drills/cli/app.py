"""The root ``beamdrill`` app: the Typer object every command module registers on, and the
console script's entry point."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Annotated

import typer

from drills.runs.interrupt import Interrupted

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Rehearse Beam's runbook on a virtual-time simulation of the Beam stack.")


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"beamdrill {metadata.version('beamdrill')}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                help="Print beamdrill's version and exit.")] = False) -> None:
    """Rehearse Beam's runbook on a virtual-time simulation of the Beam stack."""


def main() -> None:
    """Entry point of the ``beamdrill`` console script."""
    from drills import cli  # noqa: F401  (registers every command on ``app``)

    try:
        app()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Interrupted as stop:  # a second signal: stop at once
        print(f"interrupted by {stop.name}", file=sys.stderr)
        sys.exit(stop.exit_code)
