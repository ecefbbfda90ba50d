"""The generated dashboards and rules, proven: the committed files are the generator's output;
promtool checks and unit-tests every rule; every panel of every dashboard returns data for
every built-in drill in a real Prometheus; Prometheus's evaluation of the rules fires the
alerts the simulator's engine fired; the dashboards type-check against @grafana/schema."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import pytest
import yaml

from promserver import DAY, PromAPI, binaries, serve, shifted
from typecheck.dashboards import typescript

ROOT = Path(__file__).resolve().parent.parent
GRAFANA = ROOT / "grafana"
PROMTOOL_TESTS = Path(__file__).with_name("promtool")
BEAMDRILL = Path(sys.executable).parent / "beamdrill"
STEP = 15.0  # the scrape interval and the rules' evaluation interval
#: What Grafana puts in for the variables when a panel's queries run (every path; a 15 s
#: scrape interval gives a $__rate_interval of 4 x 15 s).
VARIABLES = {"$__rate_interval": "1m", "$path": ".*", "$backup_every": "15m"}
#: The versions .ci/run type-checks with: TypeScript 5 and Grafana 11.6's schema types.
NPM_PACKAGES = ("typescript@5.9.3", "@grafana/schema@11.6.16")


# -- generated, not hand-written -------------------------------------------------------------


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and path.name != "README.md"}


def test_the_committed_files_are_the_generators_output(tmp_path: Path) -> None:
    done = subprocess.run([str(BEAMDRILL), "dashboards", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote 11 files under {tmp_path}"
    generated, committed = _files(tmp_path), _files(GRAFANA)
    assert sorted(generated) == sorted(committed), "grafana/ holds other files than `beamdrill dashboards` writes"
    for name in generated:
        assert generated[name] == committed[name], f"grafana/{name} is not the generator's output: run beamdrill dashboards"


def test_a_file_in_place_of_the_out_directory_is_bad_input(tmp_path: Path) -> None:
    file = tmp_path / "grafana"
    file.write_text("")
    done = subprocess.run([str(BEAMDRILL), "dashboards", "--out", str(file)], capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.strip() == f"(command line): --out: expected a directory, found a file: {file}"


def dashboards() -> list[dict[str, Any]]:
    """Every committed dashboard's JSON model."""
    return [json.loads(path.read_text()) for path in sorted((GRAFANA / "dashboards").glob("*.json"))]


def drill_dashboards() -> list[dict[str, Any]]:
    """The dashboards every drill run has series for (not the canary's, which needs a rollout,
    nor the policies', which needs a retry budget, a circuit breaker or client retries)."""
    from drills.dashboards.generate import DASHBOARDS
    conditional = {spec.uid for spec in DASHBOARDS if spec.needs}
    return [board for board in dashboards() if board["uid"] not in conditional]


def rules() -> list[dict[str, Any]]:
    """Every rule of grafana/prometheus/rules.yml."""
    loaded = yaml.safe_load((GRAFANA / "prometheus" / "rules.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def test_every_dashboard_reads_the_datasource_variable_and_has_the_drill_annotations() -> None:
    found = dashboards()
    assert [board["uid"] for board in found] == ["beamdrill-canary", "beamdrill-delivery", "beamdrill-drill-timeline",
                                                 "beamdrill-policies", "beamdrill-recovery", "beamdrill-retries", "beamdrill-shield"]
    for board in found:
        assert board["templating"]["list"][0]["name"] == "datasource"
        assert [note["name"] for note in board["annotations"]["list"]] == ["Faults", "Operator steps"]
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
            assert panel["targets"] and all(target["expr"] for target in panel["targets"]), panel["title"]


def test_the_rules_are_beams_six_alerts_at_both_severities_evaluated_like_the_engine() -> None:
    loaded = yaml.safe_load((GRAFANA / "prometheus" / "rules.yml").read_text())
    assert [(group["name"], group["interval"]) for group in loaded["groups"]] == [("beam-alerts", "15s")]
    assert [(rule["alert"], rule["labels"]["severity"]) for rule in rules()] == [
        (alert, severity) for alert in ("network-error-rate", "network-latency-p95", "network-in-flight-backlog",
                                        "federation-stale-peers", "shield-review-load", "error-hotspot")
        for severity in ("warning", "critical")]
    assert {rule["for"] for rule in rules()} == {"0s"}


# -- promtool --------------------------------------------------------------------------------


def test_promtool_checks_the_rules_and_the_prometheus_config() -> None:
    promtool, _ = binaries()
    for command in (["check", "rules", str(GRAFANA / "prometheus" / "rules.yml")],
                    ["check", "config", str(GRAFANA / "prometheus" / "prometheus.yml")]):
        done = subprocess.run([promtool, *command], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS: 12 rules found" in done.stdout + done.stderr


def test_every_alert_has_a_promtool_unit_test_file() -> None:
    assert sorted(path.stem for path in PROMTOOL_TESTS.glob("*.yml")) == sorted({rule["alert"] for rule in rules()})


@pytest.mark.parametrize("name", sorted(path.name for path in PROMTOOL_TESTS.glob("*.yml")))
def test_promtool_unit_tests_pass(name: str) -> None:
    promtool, _ = binaries()
    done = subprocess.run([promtool, "test", "rules", name], cwd=PROMTOOL_TESTS, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout + done.stderr


# -- every built-in drill in a real Prometheus -----------------------------------------------


class DrillData(NamedTuple):
    """One built-in drill's run: its name, result directory, time range in the TSDB and duration."""

    name: str
    out: Path
    start: float
    end: float
    duration: float


@pytest.fixture(scope="module")
def backfilled(drill_runs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[PromAPI, list[DrillData]]]:
    """Every built-in drill's metrics.om, each shifted to a day of its own, backfilled into
    one TSDB and served by Prometheus with the generated prometheus.yml (and rules)."""
    promtool, _ = binaries()
    work = tmp_path_factory.mktemp("dashboards-prometheus")
    data = work / "data"
    drills: list[DrillData] = []
    summary = json.loads((drill_runs[0] / "summary.json").read_text())
    names = [row["drill"] for row in summary["drills"]]
    for index, name in enumerate(names):
        out = drill_runs[0] / name
        text = (out / "metrics.om").read_text()
        offset = (index + 1) * DAY
        (work / f"{name}.om").write_text(shifted(text, offset))
        created = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(work / f"{name}.om"),
                                  str(data)], capture_output=True, text=True, timeout=120)
        assert created.returncode == 0, created.stderr + created.stdout
        epoch = json.loads((out / "result.json").read_text())["scenario"]["epoch"]
        duration = json.loads((out / "journal.json").read_text())["virtual_duration"]
        start = _epoch_seconds(epoch) + offset
        drills.append(DrillData(name, out, start, start + duration, duration))
    config = work / "prometheus.yml"
    shutil.copy(GRAFANA / "prometheus" / "prometheus.yml", config)
    shutil.copy(GRAFANA / "prometheus" / "rules.yml", work / "rules.yml")
    for api in serve(work, data, config):
        yield api, drills


def _epoch_seconds(iso: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _query(expr: str) -> str:
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def _has_data(series: list[dict[str, Any]]) -> bool:
    return any(math.isfinite(float(value)) for one in series for _, value in one["values"])


def test_the_eleven_drills_are_backfilled(backfilled: tuple[PromAPI, list[DrillData]]) -> None:
    _, drills = backfilled
    assert len(drills) == 11


def test_every_panel_returns_data_for_every_built_in_drill(backfilled: tuple[PromAPI, list[DrillData]]) -> None:
    api, drills = backfilled
    empty: list[str] = []
    queries = 0
    for drill in drills:
        for board in drill_dashboards():
            for panel in board["panels"]:
                for target in panel["targets"]:
                    queries += 1
                    if not _has_data(api.range(_query(target["expr"]), drill.start, drill.end, STEP)):
                        empty.append(f"{drill.name}: dashboard {board['title']!r}, panel {panel['title']!r}: "
                                     f"{target['expr']} returned no data")
    assert empty == []
    assert queries == 11 * sum(len(panel["targets"]) for board in drill_dashboards() for panel in board["panels"])
    assert len(drill_dashboards()) == len(dashboards()) - 2


@pytest.fixture(scope="module")
def canary_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PromAPI, float, float]]:
    """A built-in rollout that rolls back (``beamdrill canary assistant-v3-slow``), its
    metrics.om backfilled and served: the API and the run's time range (Unix seconds)."""
    promtool, _ = binaries()
    work = tmp_path_factory.mktemp("canary-prometheus")
    out = work / "rollout"
    done = subprocess.run([str(BEAMDRILL), "canary", "assistant-v3-slow", "--out", str(out)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # Failed: the rollout rolls back
    created = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", str(out / "metrics.om"),
                              str(work / "data")], capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr + created.stdout
    stamps = [float(line.rsplit(" ", 1)[1]) for line in (out / "metrics.om").read_text().splitlines()
              if line and not line.startswith("#")]
    shutil.copy(GRAFANA / "prometheus" / "prometheus.yml", work / "prometheus.yml")
    shutil.copy(GRAFANA / "prometheus" / "rules.yml", work / "rules.yml")
    for api in serve(work, work / "data", work / "prometheus.yml"):
        yield api, min(stamps), max(stamps)


def test_every_canary_panel_returns_data_for_a_rollout_that_rolls_back(
        canary_served: tuple[PromAPI, float, float]) -> None:
    api, start, end = canary_served
    board = next(board for board in dashboards() if board["uid"] == "beamdrill-canary")
    empty = [f"panel {panel['title']!r}: {target['expr']}" for panel in board["panels"] for target in panel["targets"]
             if not _has_data(api.range(_query(target["expr"]), start, end, STEP))]
    assert empty == []
    assert len(board["panels"]) == 8
    rollback = api.range("beamdrill_canary_rollback", start, end, STEP)
    assert sorted(series["metric"]["phase"] for series in rollback) == ["completed", "decided"]
    decisions = api.range("max by (decision) (beamdrill_canary_decision)", start, end, STEP)
    assert [series["metric"]["decision"] for series in decisions] == ["Failed"]


def test_the_annotations_show_every_drills_faults_and_steps(backfilled: tuple[PromAPI, list[DrillData]]) -> None:
    api, drills = backfilled
    for drill in drills:
        text = (drill.out / "metrics.om").read_text()
        for note in dashboards()[0]["annotations"]["list"]:
            kind = re.search(r'kind="(\w+)"', note["expr"])
            assert kind is not None
            expected = f'beamdrill_drill_event{{kind="{kind.group(1)}"' in text
            found = api.range(note["expr"], drill.start, drill.end, 60)
            assert bool(found) == expected, (drill.name, note["name"])
            if expected:
                names = {one["metric"]["name"] for one in found}
                assert names == set(re.findall(rf'beamdrill_drill_event{{kind="{kind.group(1)}",name="([^"]+)"}}',
                                               text)), (drill.name, note["name"])


# -- parity: Prometheus's rules against the simulator's engine -----------------------------------

#: (alert id, severity) → firing episodes as (start, end) in virtual seconds; end None: still firing.
Episodes = dict[tuple[str, str], list[tuple[float, float | None]]]


def simulator_episodes(events: Path) -> Episodes:
    """The alert engine's firing episodes, from the drill's alert_fired/changed/cleared events."""
    episodes: Episodes = {}
    open_since: dict[tuple[str, str], float] = {}
    for line in events.read_text().splitlines():
        event = json.loads(line)
        kind, time = event["kind"], event["t"]
        if kind not in ("alert_fired", "alert_changed", "alert_cleared"):
            continue
        key = (event["id"], event["severity"])
        if kind == "alert_changed":
            previous = (event["id"], event["previous"])
            episodes.setdefault(previous, []).append((open_since.pop(previous), time))
        if kind == "alert_cleared":
            episodes.setdefault(key, []).append((open_since.pop(key), time))
        else:
            open_since[key] = time
    for key, since in open_since.items():
        episodes.setdefault(key, []).append((since, None))
    return {key: sorted(found) for key, found in episodes.items()}


def prometheus_episodes(api: PromAPI, drill: DrillData) -> Episodes:
    """Each rule's expression evaluated by Prometheus at every evaluation time of the drill
    (its start plus multiples of 15 s), as firing episodes. With ``for: 0s`` an alerting rule
    fires at exactly the evaluations where its expression returns a sample."""
    firing: dict[tuple[str, str], set[float]] = {}
    for rule in rules():
        for series in api.range(rule["expr"], drill.start, drill.end, STEP):
            alert_id = rule["labels"]["alert_id"]
            if "{{" in alert_id:
                alert_id = f"error-hotspot-{series['metric']['code'].lower()}"
            times = {round(float(t) - drill.start, 3) for t, _ in series["values"]}
            firing.setdefault((alert_id, rule["labels"]["severity"]), set()).update(times)
    episodes: Episodes = {}
    for key, times in firing.items():
        ordered = sorted(times)
        start = previous = ordered[0]
        for time in ordered[1:]:
            if time - previous > STEP:
                episodes.setdefault(key, []).append((start, previous + STEP))
                start = time
            previous = time
        episodes.setdefault(key, []).append((start, None if previous >= drill.duration else previous + STEP))
    return episodes


def test_prometheus_fires_the_alerts_the_simulator_fired_at_the_same_evaluations(
        backfilled: tuple[PromAPI, list[DrillData]]) -> None:
    """Exact agreement is expected, not just within one interval: the metrics are scraped at
    the engine's evaluation times, just after it evaluates, and they hold the numbers it
    decided on; Prometheus evaluates at the same times over those samples."""
    api, drills = backfilled
    fired = 0
    for drill in drills:
        expected = simulator_episodes(drill.out / "events.jsonl")
        found = prometheus_episodes(api, drill)
        assert found == expected, drill.name
        fired += sum(len(episodes) for episodes in expected.values())
    assert fired >= 8  # the drills that raise alerts do: this is not vacuous


# -- TypeScript: Grafana's own schema types ------------------------------------------------------


@pytest.fixture(scope="module")
def typescript_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temporary folder with TypeScript 5 and @grafana/schema 11.6 installed by npm."""
    npm = shutil.which("npm")
    if npm is None:
        reason = "npm is not installed (Debian: apt-get install -y nodejs npm; .ci/run does this)"
        if os.environ.get("BEAMDRILL_REQUIRE_NPM"):
            pytest.fail(reason + ", but BEAMDRILL_REQUIRE_NPM is set")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("grafana-schema")
    (folder / "package.json").write_text('{"private": true}\n')
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", *NPM_PACKAGES], cwd=folder,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return folder


def _tsc(folder: Path, text: str) -> subprocess.CompletedProcess[str]:
    (folder / "dashboards.ts").write_text(text)
    return subprocess.run([str(folder / "node_modules" / ".bin" / "tsc"), "--noEmit", "--strict", "--module",
                           "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "dashboards.ts"],
                          cwd=folder, capture_output=True, text=True, timeout=300)


def test_every_dashboard_type_checks_as_grafanas_dashboard(typescript_folder: Path) -> None:
    done = _tsc(typescript_folder, typescript(sorted((GRAFANA / "dashboards").glob("*.json"))))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_type_check_catches_a_wrong_field(typescript_folder: Path, tmp_path: Path) -> None:
    board = json.loads((GRAFANA / "dashboards" / "beamdrill-recovery.json").read_text())
    board["panels"][0]["gridPos"]["w"] = "wide"
    board["graphTooltip"] = 7
    (tmp_path / "broken.json").write_text(json.dumps(board))
    done = _tsc(typescript_folder, typescript([tmp_path / "broken.json"]))
    assert done.returncode != 0
    assert "Type 'string' is not assignable to type 'number'" in done.stdout
