"""The policies dashboard, proven: a run of a scenario with client retries and the bus's
retries, each under a retry budget and a circuit breaker (tests/policies/guarded.yaml),
backfilled into a real Prometheus, gives data to every panel's every query; the guards
acted (budgets refused, breakers opened and failed fast) so the panels show more than
zeros; a snapshot draws the dashboard for such a run and leaves it out of a run without
the guards."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import beamdrill
from promserver import PromAPI, binaries, serve

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "grafana"
SCENARIO = Path(__file__).with_name("policies") / "guarded.yaml"
STEP = 15.0
#: What Grafana puts in for $__rate_interval at a 15 s scrape interval (4 x 15 s).
RATE_INTERVAL = "1m"


def _board() -> dict[str, Any]:
    board: dict[str, Any] = json.loads((GRAFANA / "dashboards" / "beamdrill-policies.json").read_text())
    return board


def _values(series: list[dict[str, Any]]) -> list[float]:
    return [float(value) for one in series for _, value in one["values"] if math.isfinite(float(value))]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PromAPI, float, float, Path]]:
    """The guarded scenario's run backfilled into Prometheus (generated prometheus.yml and rules)."""
    promtool, _ = binaries()
    work = tmp_path_factory.mktemp("policies-prometheus")
    run = work / "run"
    done = beamdrill("run", SCENARIO, "--out", run, "--metrics")
    assert done.returncode == 0, done.stderr
    created = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(run / "metrics.om"),
                              str(work / "data")], capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr + created.stdout
    (work / "rules.yml").write_text((GRAFANA / "prometheus" / "rules.yml").read_text())
    (work / "prometheus.yml").write_text((GRAFANA / "prometheus" / "prometheus.yml").read_text())
    epoch = json.loads((run / "result.json").read_text())["scenario"]["epoch"]
    start = datetime.fromisoformat(epoch.replace("Z", "+00:00")).timestamp()
    for api in serve(work, work / "data", work / "prometheus.yml"):
        yield api, start, start + 240.0, run


def test_every_policies_panel_returns_data(served: tuple[PromAPI, float, float, Path]) -> None:
    api, start, end, _ = served
    board = _board()
    assert [panel["title"] for panel in board["panels"]] == [
        "Retry amplification (since the start)", "Retry amplification (last minute)",
        "Retry-budget refusals per second", "Circuit breaker fast-fails per second", "Bus circuit breakers by state",
        "Bus breaker transitions", "Client attempts, retries and timeouts per second", "Client give-ups by reason",
        "Budget refusals (total)", "Bus breaker openings (total)"]
    empty: list[str] = []
    for panel in board["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", RATE_INTERVAL)
            if not _values(api.range(expr, start, end, STEP)):
                empty.append(f"dashboard {board['title']!r}, panel {panel['title']!r}: {expr} returned no data")
    assert empty == []


def test_the_guards_acted_so_the_panels_show_more_than_zeros(served: tuple[PromAPI, float, float, Path]) -> None:
    """The totals Prometheus holds at the end are the run's own (its last scrape), and each
    guard acted: budgets refused, breakers opened, failed fast and closed again, clients
    retried, timed out and gave up; retries amplified both paths' attempts."""
    api, _, end, run = served

    def last(expr: str) -> float:
        return _values(api.range(expr, end, end, STEP))[-1]

    exported = {line.split(" ")[0]: float(line.split(" ")[1]) for line in (run / "metrics.om").read_text().splitlines()
                if line.startswith("beamdrill_") and " " in line}
    for name in ("beamdrill_bus_retry_budget_refusals_total", "beamdrill_client_retry_budget_refusals_total",
                 "beamdrill_bus_breaker_rejections_total", "beamdrill_client_breaker_rejections_total",
                 "beamdrill_client_timeouts_total"):
        assert last(f"sum({name})") == exported[name] > 0, name
    assert last('sum(beamdrill_bus_breaker_transitions_total{to="OPEN"})') >= 1
    assert last('sum(beamdrill_bus_breaker_transitions_total{to="CLOSED"})') >= 1
    assert last('sum(beamdrill_client_gave_up_total{reason="retry_budget"})') > 0
    board = {panel["title"]: panel for panel in _board()["panels"]}
    bus, client = (target["expr"] for target in board["Retry amplification (since the start)"]["targets"])
    assert last(bus) > 1 and last(client) > 1


def test_a_snapshot_draws_the_policies_dashboard_only_for_runs_with_the_guards(
        served: tuple[PromAPI, float, float, Path], tmp_path: Path) -> None:
    from drills.snapshot.board import generated_boards
    _, _, _, run = served
    assert "beamdrill-policies" in [board.uid for board in generated_boards(run / "metrics.om")]
    plain = tmp_path / "plain.om"
    plain.write_text("\n".join(line for line in (run / "metrics.om").read_text().splitlines()
                               if "_client_" not in line and "_breaker" not in line and "_budget_" not in line))
    assert "beamdrill-policies" not in [board.uid for board in generated_boards(plain)]
