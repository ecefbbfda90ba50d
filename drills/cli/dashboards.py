"""``beamdrill dashboards [--out DIR]``: generate the Grafana dashboards, provisioning files
and Prometheus rules under ``grafana/``.

A command group whose bare invocation generates, so later subcommands (a snapshot of a
run's dashboards) join it without changing how generating is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from drills.cli.console import console, fail_input
from drills.dashboards.generate import write_all
from simulator import Problem

dashboards_app = typer.Typer(rich_markup_mode=None, invoke_without_command=True,
                             help="Generate the Grafana dashboards, provisioning and Prometheus rules.")


@dashboards_app.callback(epilog="Example: beamdrill dashboards   |   beamdrill dashboards --out /tmp/grafana")
def dashboards(ctx: typer.Context,
               out: Annotated[Path, typer.Option(help="Directory to write into (the repository's grafana/ by "
                                                 "default; files there are replaced).")] = Path("grafana")) -> None:
    """Write dashboards/*.json, provisioning/{datasources,dashboards}/*.yaml,
    prometheus/rules.yml and prometheus/prometheus.yml under DIR."""
    if ctx.invoked_subcommand is not None:
        return
    if out.exists() and not out.is_dir():
        fail_input([Problem(file="(command line)", field="--out",
                            message=f"expected a directory, found a file: {out}")])
    written = write_all(out)
    console.print(f"wrote {len(written)} files under {out}", highlight=False)
