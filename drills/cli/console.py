"""What every command prints to: the console, the error console, a JSON document for
``--json``, and the one-line report of bad input (exit code 2)."""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.console import Console

from drills.runs.files import json_text
from simulator.kernel.problems import Problem

#: Standard output for people. Its lines are never hard-wrapped or cropped at the console's
#: width (``soft_wrap``): a message naming a path or a nonce stays one line (a terminal folds
#: it, a pipe gets it whole). Every table printed here is a
#: :class:`~drills.runs.wholetable.WholeTable`, which keeps its ids whole the same way.
console = Console(soft_wrap=True)
errors = Console(stderr=True)


def fail_input(problems: list[Problem]) -> None:
    """Print one line per problem and exit 2."""
    for problem in problems:
        print(problem.line(), file=sys.stderr)
    raise typer.Exit(2)


def print_json(document: Any) -> None:
    """Print ``document`` on stdout as the result files hold JSON (:func:`~drills.runs.files.json_text`),
    and nothing else: what ``--json`` prints, for scripts."""
    sys.stdout.write(json_text(document))


def json_option(what: str) -> Any:
    """A command's ``--json`` option, for a command that then prints ``what``."""
    return typer.Option("--json", help=f"Print {what} as one JSON document on stdout, nothing else.")
