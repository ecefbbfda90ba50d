"""The root ``beamdrill`` app: the Typer object every command module registers on, and the
console script's entry point."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Annotated, Any, NoReturn, Sequence

import typer
from typer._click.exceptions import (ClickException, NoArgsIsHelpError,  # typer vendors click: not re-exported
                                     UsageError)
from typer.core import TyperGroup

from drills.runs.interrupt import Interrupted


class OneLineErrors(TyperGroup):
    """The root command group. A usage error (an unknown command or option, a missing
    argument, a value of the wrong type) is one line on stderr and exit code 2, like every
    other bad input, instead of click's usage block."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> NoReturn:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except NoArgsIsHelpError as error:
            print(error.format_message(), file=sys.stderr)
            sys.exit(error.exit_code)
        except UsageError as error:
            where = f"; see '{error.ctx.command_path} --help'" if error.ctx is not None else ""
            print(f"(command line): {error.format_message().rstrip('.')}{where}", file=sys.stderr)
            sys.exit(error.exit_code)
        except ClickException as error:
            print(f"beamdrill: {error.format_message()}", file=sys.stderr)
            sys.exit(error.exit_code)
        except typer.Abort:
            print("aborted", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(cls=OneLineErrors, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
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
