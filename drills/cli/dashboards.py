"""``beamdrill dashboards [--out DIR]``: generate the Grafana dashboards, provisioning files
and Prometheus rules under ``grafana/``; ``beamdrill dashboards snapshot RUN_DIR``: draw
them over a run without a Grafana server.

A command group whose bare invocation generates, so subcommands join it without changing
how generating is called.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from drills.cli.console import console, fail_input
from drills.dashboards.generate import slo_rules_text, write_all
from drills.prometheus.api import PromAPI, PrometheusError
from drills.prometheus.run import RunMetricsError, run_metrics, serve_run
from drills.prometheus.server import binaries
from drills.runs.files import atomic_write_text
from drills.runs.resultdir import OutError
from drills.snapshot.query import SnapshotError
from drills.snapshot.take import INDEX, take_snapshot
from simulator import InputError, Problem, load_scenario

dashboards_app = typer.Typer(rich_markup_mode=None, invoke_without_command=True,
                             help="Generate the Grafana dashboards, provisioning and Prometheus rules; "
                                  "`snapshot` draws them over a run without a Grafana server.")


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


@dashboards_app.command("slo-rules", epilog="Example: beamdrill dashboards slo-rules "
                                            "drills/gate/examples/launch-ready.yaml --out launch-ready-slo.yml")
def slo_rules(scenario_file: Annotated[Path, typer.Argument(help="A scenario that declares slos.",
                                                            show_default=False)],
              out: Annotated[Optional[Path], typer.Option(help="File to write the rules into (standard output by "
                                                          "default).", show_default=False)] = None) -> None:
    """Write the Prometheus rules of the scenario's service-level objectives: bad ratio and
    burn rate per window (recording rules) and every multi-window burn-rate alert, firing
    where the simulator's alert engine fires; load them beside grafana/prometheus/rules.yml."""
    try:
        scenario = load_scenario(scenario_file)
    except InputError as error:
        fail_input(error.problems)
    if not scenario.slos:
        fail_input([Problem(file=str(scenario_file), field="slos",
                            message="expected at least one service-level objective, found none")])
    if out is not None and out.is_dir():
        fail_input([Problem(file="(command line)", field="--out", message=f"expected a file, found a directory: {out}")])
    text = slo_rules_text(scenario.name, scenario.slos)
    if out is None:
        sys.stdout.write(text)
        return
    atomic_write_text(out, text)
    console.print(f"wrote {sum(len(slo.burn_rate_alerts) for slo in scenario.slos)} SLO alerts to {out}",
                  highlight=False, markup=False)


@dashboards_app.command(epilog="Example: beamdrill dashboards snapshot runs/drills/recovery-drill   |   "
                               "beamdrill dashboards snapshot runs/drills/fire-drill --prometheus "
                               "http://127.0.0.1:9090 --out /tmp/fire-drill-dashboards")
def snapshot(run_dir: Annotated[Path, typer.Argument(help="A run directory with metrics.om (every drill run "
                                                     "writes one).", show_default=False)],
             out: Annotated[Optional[Path], typer.Option(help="Directory to write the pages and PNGs into "
                                                         "(RUN_DIR/dashboards by default; replaced whole).",
                                                         show_default=False)] = None,
             prometheus: Annotated[Optional[str], typer.Option(help="A Prometheus already serving the run (what "
                                                               "`beamdrill prometheus RUN_DIR` prints); by default "
                                                               "one is started on a free loopback port for the "
                                                               "snapshot and stopped after it.",
                                                               show_default=False)] = None) -> None:
    """Run every panel's queries of every generated dashboard against a real Prometheus over
    the run's time range and draw each dashboard as one PNG per panel and one HTML page
    (time on the run's clock, the drill's faults and operator steps drawn); a drill's
    report.md links the result."""
    try:
        metrics = run_metrics(run_dir)
    except RunMetricsError as error:
        fail_input(error.problems)
    target = out if out is not None else run_dir / "dashboards"
    if target.exists() and not target.is_dir():
        fail_input([Problem(file=str(target), field="--out", message="expected a directory, found a file")])
    try:
        if prometheus is not None:
            api = PromAPI(prometheus)
            if not api.ready():
                fail_input([Problem(file="(command line)", field="--prometheus",
                                    message=f"expected a Prometheus answering at {prometheus}, found none")])
            taken = take_snapshot(api, metrics, target)
        else:
            try:
                binaries()
            except PrometheusError as error:
                fail_input([Problem(file="(system)", field="prometheus", message=str(error))])
            with serve_run(metrics) as server:
                taken = take_snapshot(server.api, metrics, target)
    except OutError as error:
        fail_input(error.problems)
    except (PrometheusError, SnapshotError) as error:
        print(f"beamdrill: {error}", file=sys.stderr)
        raise typer.Exit(1) from None
    with_data = "every one with data" if not taken.empty else f"{len(taken.empty)} without data"
    console.print(f"snapshot of {len(taken.pages)} dashboards ({taken.panels} panels, {with_data}) in {target}: "
                  f"open {target / INDEX}", highlight=False, markup=False)
    for line in taken.empty:
        console.print(f"no data: {line}", highlight=False, markup=False)
