"""What every command prints to: the console, the error console, and the one-line report
of bad input (exit code 2)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from simulator.kernel.problems import Problem

console = Console()
errors = Console(stderr=True)


def fail_input(problems: list[Problem]) -> None:
    """Print one line per problem and exit 2."""
    for problem in problems:
        print(problem.line(), file=sys.stderr)
    raise typer.Exit(2)
