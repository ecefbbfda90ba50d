"""The operator files every run writes (alerts.json, inbox.json, dead-letters.json) and
``beamdrill alerts``, ``inbox`` and ``dead-letters`` reading them (beam-model §9.3-§9.5)."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from conftest import beamdrill as run_beamdrill, without_limits
from drills.runs.operatorview import ALERT_TIMES, INBOX_UPDATED, AlertsFile, RunClock, TransitionRow, render_alerts
from drills.runs.runner import OPERATOR_FILES, Outputs, run_world
from simulator.conservation import ConservationError
from simulator.operator.deadletters import DEAD_LETTER_COLUMNS
from simulator import load_scenario
from simulator import Summary, World

ROOT = Path(__file__).resolve().parent.parent
FINANCE = "finance@acme.beam.directory"
PROCUREMENT = "procurement@acme.beam.directory"
SLOW = "finance@northwind.beam.directory"
#: Wide enough that no table cell wraps, so rows can be compared whole.
WIDE = {"COLUMNS": "300"}


def beamdrill(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the ``beamdrill`` command line (in this process, see conftest) on a wide terminal."""
    return run_beamdrill(*args, env=WIDE)


def cells(line: str) -> list[str]:
    """The cells of one table row (body │ or header ┃), stripped."""
    text = line.strip().replace("┃", "│")
    return [cell.strip() for cell in text.strip("│").split("│")]


def paragraph(lines: list[str], start: str) -> str:
    """The text of the paragraph whose first line starts with ``start``, unwrapped: the
    lines up to the next empty one, a table or the timeline."""
    first = next(index for index, line in enumerate(lines) if line.startswith(start))
    found: list[str] = []
    for line in lines[first:]:
        if not line.strip() or line.startswith(("│", "┏", "└", "timeline")):
            break
        found.append(line)
    return " ".join(" ".join(found).split())


def table_rows(output: str) -> list[list[str]]:
    """Every body row of the tables in ``output``."""
    return [cells(line) for line in output.splitlines() if line.startswith("│")]


def run_scenario(spec: dict[str, Any], directory: Path) -> Path:
    """Write ``spec`` as a scenario file, run it with ``beamdrill run`` and return the run directory."""
    directory.mkdir(parents=True, exist_ok=True)
    file = directory / "scenario.yaml"
    file.write_text(yaml.safe_dump(spec))
    out = directory / "run"
    done = beamdrill("run", file, "--out", out)
    assert done.returncode == 0, done.stderr
    return out


def demo_with_finance_offline() -> dict[str, Any]:
    """The quickstart demo with finance@acme disconnected for the whole run: the preflight's
    bus message is retried until it is dead-lettered (at 570 s), and nothing else fails."""
    spec = yaml.safe_load((ROOT / "scenarios" / "demo.yaml").read_text())
    return {**spec, "duration": "20m", "faults": [{"kind": "agent_disconnect", "agent": FINANCE, "at": 0}]}


def fire_drill() -> dict[str, Any]:
    """procurement → finance@northwind over HTTP about once a minute; every intent times out after 6.2 s."""
    agents: list[dict[str, Any]] = [{"id": PROCUREMENT, "connected": False},
                                    {"id": SLOW, "latency": "6.2s", "failure_rate": 1.0, "failure_code": "TIMEOUT"}]
    route = {"name": "proof", "from": PROCUREMENT, "to": SLOW, "intent": "conversation.message", "via": "http",
             "rate": "1/min", "payload": {"message": "proof"}}
    return {"name": "fire-drill", "seed": 3, "duration": "15m", **without_limits(agents),
            "traffic": {"routes": [route]}}


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_scenario(demo_with_finance_offline(), tmp_path_factory.mktemp("offline"))


@pytest.fixture(scope="module")
def drill_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_scenario(fire_drill(), tmp_path_factory.mktemp("drill"))


def read(run: Path, name: str) -> Any:
    return json.loads((run / name).read_text())


# -- the files -----------------------------------------------------------------------------------


def test_every_run_lists_and_writes_the_operator_files(offline_run: Path) -> None:
    result = read(offline_run, "result.json")
    assert result["files"] == ["result.json", "audit.jsonl", *OPERATOR_FILES]
    assert OPERATOR_FILES == ("alerts.json", "inbox.json", "dead-letters.json")
    assert read(offline_run, "alerts.json") == {"alerts": [], "firingSince": {}, "transitions": []}
    assert read(offline_run, "inbox.json") == {
        "summary": {"total": 0, "byStatus": {"new": 0, "acknowledged": 0, "acted": 0},
                    "bySource": {"beta_request": 0, "critical_alert": 0}},
        "items": [], "updatedBy": {}}


def test_dead_letters_file_is_the_page_without_payloads(offline_run: Path) -> None:
    result = read(offline_run, "result.json")
    (quote,) = result["summary"]["quote_runs"]
    page = read(offline_run, "dead-letters.json")
    (row,) = page.pop("rows")
    assert page == {"count": 1, "uniqueSenders": 1, "uniqueRecipients": 1, "maxRetryCount": 4, "tone": "critical"}
    assert list(row) == list(DEAD_LETTER_COLUMNS)
    assert row["id"] == quote["preflight_message_id"] and row["nonce"] == quote["preflight_nonce"]
    assert {key: row[key] for key in ("sender", "recipient", "intent", "status", "retry_count", "max_retries",
                                      "failed_at", "error", "hint_kind")} == {
        "sender": "partner-desk@northwind.beam.directory", "recipient": FINANCE, "intent": "purchase.preflight",
        "status": "dead_letter", "retry_count": 4, "max_retries": 5, "failed_at": 570.0, "error": "agent_offline",
        "hint_kind": "offline"}
    text = (offline_run / "dead-letters.json").read_text()
    assert "payload" not in text and "response" not in text
    assert "totalPriceEur" not in text and "requestNonce" not in text  # the preflight's payload keys


def test_alerts_file_holds_the_end_read_and_every_transition(drill_run: Path) -> None:
    alerts = read(drill_run, "alerts.json")
    assert [(a["id"], a["severity"], a["value"], a["threshold"], a["valueUnit"], a["startedAt"])
            for a in alerts["alerts"]] == [
        ("network-error-rate", "critical", 1.0, 0.1, "ratio", 874.725),
        ("network-latency-p95", "critical", 6200, 2000, "ms", 874.725),
        ("error-hotspot-timeout", "critical", 16, 5, "count", 874.725),
    ]
    # Beam's startedAt is the newest sample's request time; when each began firing is firingSince,
    # the time of its latest alert_fired transition (below).
    assert alerts["firingSince"] == {"network-error-rate": 615.0, "network-latency-p95": 105.0,
                                     "error-hotspot-timeout": 360.0}
    # The end read upserted the inbox before the alerts were written: each carries its item.
    assert [(a["notificationId"], a["notificationStatus"]) for a in alerts["alerts"]] == \
        [(2, "new"), (1, "new"), (3, "new")]
    assert alerts["transitions"] == [
        {"time": 105.0, "kind": "alert_fired", "alertId": "network-latency-p95", "severity": "critical",
         "previousSeverity": None, "value": 6200},
        {"time": 360.0, "kind": "alert_fired", "alertId": "error-hotspot-timeout", "severity": "warning",
         "previousSeverity": None, "value": 5},
        {"time": 615.0, "kind": "alert_fired", "alertId": "network-error-rate", "severity": "critical",
         "previousSeverity": None, "value": 1.0},
        {"time": 615.0, "kind": "alert_changed", "alertId": "error-hotspot-timeout", "severity": "critical",
         "previousSeverity": "warning", "value": 10},
    ]
    inbox = read(drill_run, "inbox.json")
    assert inbox["summary"] == {"total": 3, "byStatus": {"new": 3, "acknowledged": 0, "acted": 0},
                                "bySource": {"beta_request": 0, "critical_alert": 3}}
    assert [(i["id"], i["sourceKey"], i["status"], i["updatedAt"]) for i in inbox["items"]] == [
        (3, "critical-alert:error-hotspot-timeout", "new", 900.0),
        (2, "critical-alert:network-error-rate", "new", 900.0),
        (1, "critical-alert:network-latency-p95", "new", 900.0),
    ]
    # 900 is the end of the run: the read that wrote alerts.json upserted every critical item
    assert inbox["updatedBy"] == {"3": "alert read", "2": "alert read", "1": "alert read"}


def _run_in_process(out: Path, run: Any = None) -> tuple[World, Any]:
    scenario_file = ROOT / "scenarios" / "demo.yaml"
    world = World(load_scenario(scenario_file))
    report = run_world(world, scenario_file, 60.0, Outputs(out=out), run or (lambda w, end: w.run(until=end)))
    return world, report


def test_a_failed_run_still_writes_the_operator_files(tmp_path: Path) -> None:
    def failing(world: World, end: float) -> Summary:
        world.run(until=end)
        raise ConservationError("a test said so")

    _, report = _run_in_process(tmp_path, failing)
    assert report.failure == "ConservationError: a test said so"
    result = read(tmp_path, "result.json")
    assert result["status"] == "failed" and result["files"] == ["result.json", "audit.jsonl", *OPERATOR_FILES]
    assert all((tmp_path / name).is_file() for name in OPERATOR_FILES)


def test_an_operator_file_that_cannot_be_built_costs_only_itself(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Any) -> Any:
        raise RuntimeError("observations are gone")

    monkeypatch.setattr("simulator.operator.alerts.AlertEngine.evaluate", broken)
    _, report = _run_in_process(tmp_path)
    assert report.failure == "writing alerts.json failed: RuntimeError: observations are gone"
    result = read(tmp_path, "result.json")
    assert result["status"] == "failed" and result["error"] == report.failure
    assert result["files"] == ["result.json", "audit.jsonl", "inbox.json", "dead-letters.json"]
    assert not (tmp_path / "alerts.json").exists() and (tmp_path / "inbox.json").is_file()


def test_operator_files_are_identical_for_the_same_scenario_and_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _run_in_process(tmp_path / name)
    for name in OPERATOR_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


# -- the views -----------------------------------------------------------------------------------


def test_dead_letters_view_shows_the_figures_the_row_and_its_hint(offline_run: Path) -> None:
    row = read(offline_run, "dead-letters.json")["rows"][0]
    done = beamdrill("dead-letters", "--run", offline_run)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "dead letters: 1, unique senders: 1, unique recipients: 1, max retry_count: 4"
    assert cells(lines[2]) == ["message id", "nonce", "sender", "recipient", "intent", "retry_count", "error", "hint"]
    assert table_rows(done.stdout) == [[row["id"], row["nonce"], "partner-desk@northwind.beam.directory", FINANCE,
                                        "purchase.preflight", "4", "agent_offline", "offline"]]
    assert lines[-2:] == ["requeue hints", "  offline: The target was offline: confirm it is connected again, then "
                                           "requeue with the original nonce."]


def test_alerts_view_shows_the_firing_alerts_and_the_timeline(drill_run: Path) -> None:
    done = beamdrill("alerts", "--run", drill_run)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].strip() == "3 alerts firing at the end of the run"
    assert cells(lines[2]) == ["id", "severity", "value", "threshold", "unit", "firing since",
                               "startedAt (newest sample)"]
    started = "2026-04-03T08:14:34.725Z (t=874.725s)"
    assert table_rows(done.stdout) == [
        ["network-error-rate", "critical", "1", "0.1", "ratio", "2026-04-03T08:10:15.000Z (t=615s)", started],
        ["network-latency-p95", "critical", "6200", "2000", "ms", "2026-04-03T08:01:45.000Z (t=105s)", started],
        ["error-hotspot-timeout", "critical", "16", "5", "count", "2026-04-03T08:06:00.000Z (t=360s)", started],
    ]
    assert paragraph(lines, "firing since: ") == ALERT_TIMES
    assert lines[-5:] == [
        "timeline (4 transitions)",
        "  2026-04-03T08:01:45.000Z (t=105s)  fired   network-latency-p95 critical, value 6200",
        "  2026-04-03T08:06:00.000Z (t=360s)  fired   error-hotspot-timeout warning, value 5",
        "  2026-04-03T08:10:15.000Z (t=615s)  fired   network-error-rate critical, value 1",
        "  2026-04-03T08:10:15.000Z (t=615s)  changed error-hotspot-timeout critical (was warning), value 10",
    ]


def test_firing_since_is_when_the_events_say_each_alert_fired(tmp_path: Path) -> None:
    """The fire drill's network-latency-p95: Beam's startedAt is t=540 s (the newest slow
    intent, sent at 9 minutes), but it fired at t=15 s, at the first evaluation after the
    first 6.2 s proof. The view shows both, and firing since agrees with events.jsonl."""
    from drills.drillfile.builtin import CATALOG
    from drills.drillfile.loader import load_drill
    from drills.executor.execute import run_drill

    run_drill(load_drill(CATALOG / "fire-drill.yaml"), tmp_path)
    alerts = read(tmp_path, "alerts.json")
    fired: dict[str, float] = {}
    for line in (tmp_path / "events.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["kind"] == "alert_fired":
            fired[event["id"]] = event["t"]
    assert alerts["firingSince"] == {alert["id"]: fired[alert["id"]] for alert in alerts["alerts"]} == {
        "network-error-rate": 555.0, "network-latency-p95": 15.0, "error-hotspot-timeout": 255.0}
    assert {alert["id"]: alert["startedAt"] for alert in alerts["alerts"]} == {
        "network-error-rate": 540.0, "network-latency-p95": 540.0, "error-hotspot-timeout": 540.0}
    done = beamdrill("alerts", "--run", tmp_path)
    row = next(row for row in table_rows(done.stdout) if row[0] == "network-latency-p95")
    assert row[5:] == ["2026-04-03T08:00:15.000Z (t=15s)", "2026-04-03T08:09:00.000Z (t=540s)"]
    assert "  2026-04-03T08:00:15.000Z (t=15s)  fired   network-latency-p95 critical, value 6200" in done.stdout


def test_every_updated_at_in_the_inbox_is_an_event(tmp_path: Path) -> None:
    """fm3: the item was acted on at 750 s, yet its updatedAt is 885 s: the alert engine's
    read at 885 s, the last one that saw network-error-rate critical (it cleared at 900 s
    after the requeue), upserted it. That write is an inbox_updated event, inbox.json says
    it was an alert read, and so do the view and the report's timeline."""
    from drills.drillfile.builtin import CATALOG
    from drills.drillfile.loader import load_drill
    from drills.executor.execute import run_drill

    run_drill(load_drill(CATALOG / "fm3-dead-letter.yaml"), tmp_path)
    inbox = read(tmp_path, "inbox.json")
    (item,) = inbox["items"]
    assert (item["sourceKey"], item["status"], item["createdAt"], item["actedAt"], item["updatedAt"]) == (
        "critical-alert:network-error-rate", "acted", 105.0, 750.0, 885.0)
    assert inbox["updatedBy"] == {"1": "alert read"}
    updates = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()
               if '"inbox_updated"' in line]
    assert [(u["t"], u["by"], u["status"]) for u in updates if u["by"] != "alert read"] == [
        (105.0, "created", "new"), (720.0, "patch", "acknowledged"), (750.0, "patch", "acted")]
    assert updates[-1] == {"t": 885.0, "kind": "inbox_updated", "nonce": None,
                           "key": "critical-alert:network-error-rate", "id": 1, "status": "acted", "by": "alert read"}
    # every 15 s from 120 to 885, plus the reads the drill's steps and probes made
    reads = [u["t"] for u in updates if u["by"] == "alert read"]
    assert set(range(120, 900, 15)) <= set(reads) and max(reads) == 885.0
    alerts = read(tmp_path, "alerts.json")
    assert [(t["time"], t["kind"], t["alertId"]) for t in alerts["transitions"] if t["alertId"] == "network-error-rate"] \
        == [(105.0, "alert_fired", "network-error-rate"), (900.0, "alert_cleared", "network-error-rate")]
    done = beamdrill("inbox", "--run", tmp_path)
    assert table_rows(done.stdout)[0][-1] == "2026-04-03T08:14:45.000Z (t=885s), alert read"
    assert ("- t=885s (08:14:45Z): inbox item critical-alert:network-error-rate updatedAt set by an alert read, the "
            "last while its alert was critical (reads upsert critical items)") in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("name", ["fire-drill", "fm5-rate-limit-shield", "recovery-drill"])
def test_each_item_is_last_updated_by_its_last_inbox_event(name: str, tmp_path: Path) -> None:
    from drills.drillfile.builtin import CATALOG
    from drills.drillfile.loader import load_drill
    from drills.executor.execute import run_drill

    run_drill(load_drill(CATALOG / f"{name}.yaml"), tmp_path)
    last: dict[str, tuple[float, str]] = {}
    for line in (tmp_path / "events.jsonl").read_text().splitlines():
        if '"inbox_updated"' in line:
            event = json.loads(line)
            last[event["key"]] = (event["t"], event["by"])
    inbox = read(tmp_path, "inbox.json")
    assert inbox["items"]
    assert {i["sourceKey"]: (i["updatedAt"], inbox["updatedBy"][str(i["id"])]) for i in inbox["items"]} == last


def test_alerts_view_of_a_quiet_run(offline_run: Path) -> None:
    done = beamdrill("alerts", "--run", offline_run)
    assert (done.returncode, done.stdout) == (0, "no alerts firing at the end of the run\ntimeline (0 transitions)\n"
                                                 "  no alert fired during the run\n")


def test_inbox_view_lists_the_critical_alert_items(drill_run: Path) -> None:
    done = beamdrill("inbox", "--run", drill_run)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0] == "inbox: 3 items (new 3, acknowledged 0, acted 0; beta_request 0, critical_alert 3)"
    assert cells(lines[3]) == ["id", "key", "severity", "status", "owner", "next action", "updated"]
    updated = "2026-04-03T08:15:00.000Z (t=900s), alert read"
    assert table_rows(done.stdout) == [
        ["3", "critical-alert:error-hotspot-timeout", "critical", "new", "-",
         "Open the latest TIMEOUT trace, check the recipient's latency and connection, fix it, then requeue with "
         "the original nonce.", updated],
        ["2", "critical-alert:network-error-rate", "critical", "new", "-",
         "Open the latest failing trace, confirm the cause from its error code, and record an owner before "
         "anything is requeued.", updated],
        ["1", "critical-alert:network-latency-p95", "critical", "new", "-",
         "Open the slowest recent trace and check the recipient's latency and capacity before it turns into "
         "timeouts.", updated],
    ]
    assert paragraph(lines, "updated: ") == INBOX_UPDATED
    acted = beamdrill("inbox", "--run", drill_run, "--status", "acted")
    assert acted.returncode == 0
    assert acted.stdout.splitlines()[1:] == ["no acted items"]


def test_inbox_view_filters_by_status(drill_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(drill_run, run)
    inbox = read(run, "inbox.json")
    first, second, third = inbox["items"]
    first.update(status="acknowledged", owner="ops-oncall", updatedAt=905.5)
    second.update(status="acted", owner="ops-oncall", nextAction="Requeued after the fix [done]", updatedAt=960.0)
    inbox["summary"]["byStatus"] = {"new": 1, "acknowledged": 1, "acted": 1}
    inbox["updatedBy"].update({"3": "patch", "2": "patch"})
    (run / "inbox.json").write_text(json.dumps(inbox))
    done = beamdrill("inbox", "--run", run, "--status", " Acknowledged ")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "inbox: 3 items (new 1, acknowledged 1, acted 1; beta_request 0, critical_alert 3)"
    assert lines[1].strip() == "1 acknowledged item"
    assert table_rows(done.stdout) == [
        ["3", "critical-alert:error-hotspot-timeout", "critical", "acknowledged", "ops-oncall", first["nextAction"],
         "2026-04-03T08:15:05.500Z (t=905.5s), patch"]]
    acted = beamdrill("inbox", "--run", run, "--status", "acted")
    assert [row[3:] for row in table_rows(acted.stdout)] == [
        ["acted", "ops-oncall", "Requeued after the fix [done]", "2026-04-03T08:16:00.000Z (t=960s), patch"]]


@pytest.mark.parametrize("command", ["alerts", "inbox", "dead-letters"])
def test_every_view_has_an_example_in_its_help(command: str) -> None:
    done = beamdrill(command, "--help")
    assert done.returncode == 0
    assert "Example: beamdrill run scenarios/partner-incident.yaml" in done.stdout
    assert f"beamdrill {command} --run runs/incident" in done.stdout


# -- bad input: one line, exit 2 -------------------------------------------------------------------


def _missing_dir(run: Path) -> Path:
    return run.parent / "no-such-run"


def _missing_file(run: Path, name: str) -> Path:
    (run / name).unlink()
    return run


def _malformed(run: Path, name: str) -> Path:
    (run / name).write_text('{"alerts": [\n  {"id": "x",}\n')
    return run


def _wrong_shape(run: Path, name: str) -> Path:
    (run / name).write_text('{"rows": "none", "items": 3, "alerts": 3}\n')
    return run


FILES = {"alerts": "alerts.json", "inbox": "inbox.json", "dead-letters": "dead-letters.json"}


@pytest.mark.parametrize("command", list(FILES))
@pytest.mark.parametrize("case, message", [
    ("missing dir", "--run: expected a run directory written by beamdrill run, found no directory '{run}'"),
    ("missing file", "(file): expected the file every run writes, found none (a run of an older beamdrill? run it "
                     "again)"),
    ("malformed", "line 2, column 14: expected valid JSON, found expecting property name enclosed in double quotes"),
])
def test_bad_run_directories_are_one_line_and_exit_2(offline_run: Path, tmp_path: Path, command: str, case: str,
                                                     message: str) -> None:
    run = tmp_path / "run"
    shutil.copytree(offline_run, run)
    name = FILES[command]
    if case == "missing dir":
        run = _missing_dir(run)
    elif case == "missing file":
        _missing_file(run, name)
    else:
        _malformed(run, name)
    done = beamdrill(command, "--run", run)
    assert done.returncode == 2
    assert done.stderr == f"{run / name}: {message.format(run=run)}\n"
    assert done.stdout == "" and "Traceback" not in done.stderr


def test_a_file_of_the_wrong_shape_names_each_field(offline_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(offline_run, run)
    _wrong_shape(run, "dead-letters.json")
    done = beamdrill("dead-letters", "--run", run)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    # The wording after the field is simulator.kernel.problems' (shared by every input file).
    prefixes = [f"{run / 'dead-letters.json'}: {field}: "
                for field in ("count", "uniqueSenders", "uniqueRecipients", "maxRetryCount", "rows")]
    assert [line[:len(prefix)] for line, prefix in zip(lines, prefixes)] == prefixes and len(lines) == 5
    assert all("expected" in line for line in lines) and lines[-1].endswith("found 'none'")


def test_a_run_without_its_result_file_says_so(offline_run: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(offline_run, run)
    (run / "result.json").write_text('{"scenario": {"epoch": "soon"}}')
    done = beamdrill("inbox", "--run", run)
    assert (done.returncode, done.stderr) == (
        2, f"{run / 'result.json'}: scenario.epoch: expected an ISO 8601 time, found 'soon'\n")


def test_an_unknown_status_is_one_line_and_exit_2(offline_run: Path) -> None:
    done = beamdrill("inbox", "--run", offline_run, "--status", "done")
    assert (done.returncode, done.stderr) == (
        2, "(command line): --status: expected one of new, acknowledged, acted, found 'done'\n")


def test_the_timeline_shows_the_latest_transitions() -> None:
    changes = [TransitionRow(time=60.0 * index, kind="alert_fired" if index % 2 == 0 else "alert_cleared",
                             alert_id="network-in-flight-backlog", severity="warning", value=index)
               for index in range(25)]
    console = Console(width=200, record=True)
    clock = RunClock(epoch=datetime(2026, 4, 3, 8, tzinfo=timezone.utc))
    for part in render_alerts(AlertsFile(alerts=[], transitions=changes), clock):
        console.print(part)
    lines = console.export_text().splitlines()
    assert lines[:3] == [
        "no alerts firing at the end of the run",
        "timeline (25 transitions, the last 20 shown)",
        "  2026-04-03T08:05:00.000Z (t=300s)  cleared network-in-flight-backlog warning, value 5",
    ]
    assert len(lines) == 22 and lines[-1].startswith("  2026-04-03T08:24:00.000Z (t=1440s)  fired   ")
