"""Shared test helpers."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Final, Iterable, Mapping, NamedTuple

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from typer.testing import CliRunner

from simulator import load_scenario
from simulator.telemetry.recorder import MetricsRecorder
from simulator.telemetry.sampling import parse_sampling
from simulator.telemetry.spans import SpanRecorder
from simulator.world import Summary, World

ROOT = Path(__file__).resolve().parent.parent

#: Intent types the tests send; the directory's ACL denies anything without a row.
TEST_INTENTS = ("agent.ping", "task.delegate", "conversation.message")


def beamdrill(*args: str | Path, env: Mapping[str, str | None] | None = None,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``beamdrill ARGS`` in this process: the console script's typer app, given the same
    arguments, with stdout and stderr captured apart and its exit code, as
    ``subprocess.run([beamdrill, *args], capture_output=True, text=True)`` would return them,
    without starting (and importing everything into) a new interpreter each time. ``env``
    overrides environment variables for the call (``None`` removes one), ``cwd`` is the
    working directory during it. An exception the command lets escape is raised here (a
    console script would print its traceback and exit 1), so it fails the test.

    Tests of what only a separate process shows (output across PYTHONHASHSEED, the
    installed entry point's exit codes) run the real script with :mod:`subprocess`."""
    from drills.cli import app  # imports matplotlib: only when a test runs the command line

    argv = [str(arg) for arg in args]
    with contextlib.chdir(cwd or os.getcwd()):
        result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False, prog_name="beamdrill")
    return subprocess.CompletedProcess(["beamdrill", *argv], result.exit_code, result.stdout, result.stderr)


def open_acl(agents: Iterable[dict[str, Any]], intents: Iterable[str] = TEST_INTENTS) -> list[dict[str, str]]:
    """ACL rows letting every sender send ``intents`` to every agent in ``agents``."""
    return [{"target": agent["id"], "intent": intent, "allowed_from": "*"} for agent in agents for intent in intents]


def without_limits(agents: list[dict[str, Any]]) -> dict[str, Any]:
    """Scenario fields that lift the directory's rate limits (public limiter, relay
    per-sender limit, trust-gate pair limit) and open its ACL, for tests of other rules."""
    return {
        "agents": [{**agent, "shield": {"rate_limit": 1000, **agent.get("shield", {})}} for agent in agents],
        "acl": open_acl(agents),
        "directory": {"public_limits": {"per_ip_per_min": 100_000, "per_sender_per_min": 100_000},
                      "rate_limit_per_min": 100_000},
    }


#: The terminal size variables: rich fixes a console's width from COLUMNS when it is made.
TERMINAL_SIZE: Final[tuple[str, str]] = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, before starting a worker: hand it this process's COLUMNS and LINES."""
    node.workerinput["terminal_size"] = {name: os.environ.get(name) for name in TERMINAL_SIZE}


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker, before any test module is imported: COLUMNS and LINES as
    the controller has them. A worker starts with COLUMNS=80 and LINES=24 set; the command
    line's console, made at import, would keep 80 columns whatever a test's COLUMNS says."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        return
    for name, value in workerinput["terminal_size"].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


#: Where Hypothesis keeps what it writes (its caches), instead of the checkout's
#: ``.hypothesis``: a directory of this process's own, removed when it exits.
HYPOTHESIS_HOME = tempfile.TemporaryDirectory(prefix="beamdrill-hypothesis-")
set_hypothesis_home_dir(HYPOTHESIS_HOME.name)
#: No example database: tests running side by side share none, and a run never depends on
#: what an earlier one left behind.
settings.register_profile("beamdrill", database=None)
settings.load_profile("beamdrill")


@pytest.fixture(scope="session")
def drill_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``beamdrill drill run --all`` run twice at once, in two processes with different hash
    seeds and working directories; their two result directories. The replay and
    golden-digest tests read them."""
    root = tmp_path_factory.mktemp("drill-runs")
    runs = {}
    for name, hash_seed in (("first", "1"), ("second", "4242")):
        (root / name).mkdir()
        runs[name] = subprocess.Popen([str(Path(sys.executable).parent / "beamdrill"), "drill", "run", "--all",
                                       "--out", "drills-out"], cwd=root / name,
                                      env={**os.environ, "PYTHONHASHSEED": hash_seed},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for name, process in runs.items():
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, (name, stderr)
    return root / "first" / "drills-out", root / "second" / "drills-out"


class IncidentRun(NamedTuple):
    """partner-incident run once for its three hours, and the sinks that watched it."""

    world: World
    summary: Summary
    metrics: MetricsRecorder
    spans: SpanRecorder


@pytest.fixture(scope="session")
def partner_incident() -> IncidentRun:
    """The whole three hours of partner-incident (every fault kind, its own seed), scraped
    every 15 virtual seconds and traced keeping what was not acked. The metrics and the
    span tests read it (and only read it); both sinks only subscribe, so each sees what it
    would see alone, and the three-hour world is run once instead of once per module."""
    world = World(load_scenario(ROOT / "scenarios" / "partner-incident.yaml"))
    metrics = MetricsRecorder(world, 15.0)
    spans = SpanRecorder(world.seed, parse_sampling("failed"))
    world.subscribe(spans)
    summary = world.run(until=3 * 3600.0)
    metrics.finish()
    return IncidentRun(world, summary, metrics, spans)
