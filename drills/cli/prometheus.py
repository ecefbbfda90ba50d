"""``beamdrill prometheus RUN_DIR [--port P]``: a run's metrics in a real Prometheus on
loopback, with Beam's alert rules, until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import signal
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Final

import typer

from drills.cli.app import app
from drills.cli.console import console, fail_input
from drills.dashboards.generate import DASHBOARDS, yaml_text
from drills.dashboards.provisioning import PROMETHEUS_URL, datasources
from drills.prometheus.api import PrometheusError
from drills.prometheus.run import RunMetrics, RunMetricsError, run_metrics, serve_run
from drills.prometheus.server import binaries, port_in_use
from drills.runs.interrupt import stop_on_signals
from simulator.kernel.problems import Problem

#: The port the committed Grafana provisioning points at.
DEFAULT_PORT: Final[int] = int(PROMETHEUS_URL.rsplit(":", 1)[1])
#: Where the README's Grafana listens (``docker run --network host grafana/grafana``).
GRAFANA_URL: Final[str] = "http://localhost:3000"
#: How often the wait loop checks for a stop request and for Prometheus exiting.
POLL_S: Final[float] = 0.2


def utc(seconds: float) -> str:
    """Unix seconds as an ISO 8601 UTC time to the second (``2026-04-03T08:00:00Z``)."""
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _say(text: str) -> None:
    console.print(text, highlight=False, markup=False)
    sys.stdout.flush()


def _announce(run_dir: Path, metrics: RunMetrics, url: str, rules: int) -> None:
    """What is served and where, the datasource for Grafana, a link to each dashboard over the run."""
    _say(f"Prometheus serves {metrics.path} at {url} ({rules} alert rules loaded)")
    _say(f"time range: {utc(metrics.start)} to {utc(metrics.end)} (the run's epoch, not now)")
    if url == PROMETHEUS_URL:
        _say("Grafana: grafana/provisioning/datasources/beamdrill.yaml points at it; that datasource:")
    else:
        _say("Grafana: provision this datasource (grafana/provisioning/datasources/beamdrill.yaml "
             f"points at port {DEFAULT_PORT}):")
    for line in yaml_text(datasources(url)).splitlines():
        _say(f"  {line}")
    window = f"from={int(metrics.start * 1000)}&to={int(metrics.end * 1000) + 1000}"
    for spec in DASHBOARDS:
        _say(f"dashboard: {GRAFANA_URL}/d/{spec.uid}?{window}")
    _say(f"snapshot: beamdrill dashboards snapshot {run_dir} --prometheus {url}")


@app.command(epilog="Example: beamdrill prometheus runs/drills/recovery-drill   |   "
                    "beamdrill prometheus runs/drills/fire-drill --port 9191")
def prometheus(run_dir: Annotated[Path, typer.Argument(help="A run directory with metrics.om (every drill run "
                                                       "writes one).", show_default=False)],
               port: Annotated[int, typer.Option(min=1, max=65535, help="The port on 127.0.0.1 to listen on "
                                                 "(9090 is where grafana/provisioning points).")] = DEFAULT_PORT,
               ) -> None:
    """Backfill RUN_DIR/metrics.om into a fresh TSDB and serve it with a real Prometheus on
    127.0.0.1 with Beam's alert rules loaded; print its URL and the Grafana datasource to
    point at it; stop on Ctrl-C or SIGTERM (the TSDB is removed)."""
    try:
        metrics = run_metrics(run_dir)
    except RunMetricsError as error:
        fail_input(error.problems)
    try:
        binaries()
    except PrometheusError as error:
        fail_input([Problem(file="(system)", field="prometheus", message=str(error))])
    if port_in_use(port):
        fail_input([Problem(file="(command line)", field="--port",
                            message=f"expected a free port on 127.0.0.1, found {port} in use")])
    with stop_on_signals() as stop:
        try:
            with serve_run(metrics, port) as server:
                rules = sum(len(group["rules"]) for group in server.api.get("/api/v1/rules")["groups"])
                _announce(run_dir, metrics, server.api.base, rules)
                _say("Ctrl-C stops it.")
                while stop.signum is None:
                    if server.exited() is not None:
                        print(f"prometheus: exited by itself with code {server.exited()}: {server.log_tail(1)}",
                              file=sys.stderr)
                        raise typer.Exit(1)
                    time.sleep(POLL_S)
                stopped_by = signal.Signals(stop.signum).name
        except PrometheusError as error:
            print(f"prometheus: {error}", file=sys.stderr)
            raise typer.Exit(1) from None
    _say(f"stopped on {stopped_by}: Prometheus and its TSDB are gone")
