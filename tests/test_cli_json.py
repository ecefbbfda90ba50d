"""``--json`` on every listing and view: one JSON document on stdout holding the records of
the file the run wrote (the same keys, the same order), nothing else; bad input is still
one line on stderr and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import beamdrill
from drills.drillfile.builtin import CATALOG
from drills.runs.traceview import load_trace

#: A narrow terminal: --json output must not care.
NARROW = {"COLUMNS": "40"}


@pytest.fixture(scope="module")
def drills_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """``drill run fire-drill as-coded-retry-defect --json``: the result directory and the run."""
    out = tmp_path_factory.mktemp("json") / "runs"
    done = beamdrill("drill", "run", "fire-drill", "as-coded-retry-defect", "--out", out, "--json", env=NARROW)
    return out, done


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_drill_run_prints_exactly_summary_json(drills_run: tuple[Path, Any]) -> None:
    out, done = drills_run
    assert done.returncode == 0
    assert done.stdout == text(out / "summary.json")
    assert json.loads(done.stdout) == {
        "drills": [
            {"drill": "fire-drill", "verdict": "completed", "expectations_held": 19, "expectations_total": 19,
             "virtual_seconds": 720.0, "report": "fire-drill/report.md"},
            {"drill": "as-coded-retry-defect", "verdict": "completed", "expectations_held": 6,
             "expectations_total": 6, "virtual_seconds": 1560.0, "report": "as-coded-retry-defect/report.md"}],
        "not_run": []}
    assert done.stderr == ("wrote summary.json and one directory per drill with journal.json, report.md, "
                           f"chart.png and metrics.om in {out}\n")


def test_drill_run_json_keeps_the_problems_on_stderr(tmp_path: Path) -> None:
    data = yaml.safe_load(text(CATALOG / "fm2-queued-retries.yaml"))
    data.pop("faults")
    data.pop("steps")
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({**data, "scenario": str(CATALOG.parent / "scenarios" / "demo.yaml")}))
    out = tmp_path / "runs"
    done = beamdrill("drill", "run", broken, "--out", out, "--json")
    assert done.returncode == 1
    assert done.stdout == text(out / "summary.json")
    assert [(d["drill"], d["verdict"]) for d in json.loads(done.stdout)["drills"]] == [("broken", "deviated")]
    lines = done.stderr.splitlines()
    assert lines[0] == "broken: deviated (an expectation or steady-state probe did not hold, or a runbook rule was " \
                       "broken)"
    assert "  t=10s preflight queued: expected = queued, observed \"delivered\"" in lines
    assert lines[-2:] == [f"  proof pack: {out / 'broken' / 'report.md'}",
                          f"wrote summary.json and one directory per drill with journal.json, report.md, "
                          f"chart.png and metrics.om in {out}"]


@pytest.mark.parametrize("command, drill, file", [
    ("alerts", "fire-drill", "alerts.json"),
    ("inbox", "fire-drill", "inbox.json"),
    ("dead-letters", "as-coded-retry-defect", "dead-letters.json"),
])
def test_a_view_prints_its_file(drills_run: tuple[Path, Any], command: str, drill: str, file: str) -> None:
    run = drills_run[0] / drill
    done = beamdrill(command, "--run", run, "--json", env=NARROW)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == text(run / file)  # the same keys in the same order, the same layout
    assert json.loads(done.stdout) == json.loads(text(run / file))


def test_the_views_print_the_records_they_show(drills_run: tuple[Path, Any]) -> None:
    alerts = json.loads(beamdrill("alerts", "--run", drills_run[0] / "fire-drill", "--json").stdout)
    assert [(a["id"], a["severity"], a["startedAt"]) for a in alerts["alerts"]] == [
        ("network-error-rate", "critical", 540.0), ("network-latency-p95", "critical", 540.0),
        ("error-hotspot-timeout", "critical", 540.0)]
    page = json.loads(beamdrill("dead-letters", "--run", drills_run[0] / "as-coded-retry-defect", "--json").stdout)
    assert [(row["sender"], row["recipient"], row["retry_count"], row["error"]) for row in page["rows"]] == [
        ("partner-desk@northwind.beam.directory", "finance@acme.beam.directory", 4, "Failed to relay intent")]


def test_inbox_status_json_keeps_the_items_in_that_status(drills_run: tuple[Path, Any]) -> None:
    run = drills_run[0] / "fire-drill"
    inbox = json.loads(text(run / "inbox.json"))
    def shown(status: str) -> dict[str, Any]:
        done = beamdrill("inbox", "--run", run, "--status", status, "--json")
        assert (done.returncode, done.stderr) == (0, "")
        return dict(json.loads(done.stdout))

    def kept(status: str) -> dict[str, Any]:
        items = [item for item in inbox["items"] if item["status"] == status]
        return {"summary": inbox["summary"], "items": items,
                "updatedBy": {str(item["id"]): inbox["updatedBy"][str(item["id"])] for item in items}}

    acknowledged = shown("acknowledged")
    assert acknowledged == kept("acknowledged")
    assert [item["sourceKey"] for item in acknowledged["items"]] == [
        "critical-alert:network-error-rate", "critical-alert:network-latency-p95"]
    assert [item["sourceKey"] for item in shown("ACTED")["items"]] == [
        "critical-alert:error-hotspot-timeout", "beta-request:1"]
    assert shown("new") == {"summary": inbox["summary"], "items": [], "updatedBy": {}}  # triage left none new


def test_trace_json_is_the_trace_record(drills_run: tuple[Path, Any]) -> None:
    run = drills_run[0] / "as-coded-retry-defect"
    (row,) = json.loads(text(run / "dead-letters.json"))["rows"]
    done = beamdrill("trace", row["nonce"], "--run", run, "--json", env=NARROW)
    assert (done.returncode, done.stderr) == (0, "")
    document = json.loads(done.stdout)
    assert document == load_trace(run, row["nonce"]).model_dump(mode="json")
    assert (document["nonce"], document["message_id"], document["epoch"]) == (row["nonce"], row["id"],
                                                                              "2026-04-03T08:00:00Z")
    assert [stage["state"] for stage in document["stages"] if stage["path"] == "bus"][-1] == "dead_letter"
    assert [attempt["number"] for attempt in document["attempts"]] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("args", [["alerts"], ["inbox"], ["dead-letters"], ["trace", "some-nonce"]])
def test_bad_input_with_json_is_still_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    done = beamdrill(*args, "--run", tmp_path / "missing", "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "--run: expected a run directory" in done.stderr


def test_a_bad_status_with_json_is_one_line_and_exit_2(drills_run: tuple[Path, Any]) -> None:
    done = beamdrill("inbox", "--run", drills_run[0] / "fire-drill", "--status", "done", "--json")
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "(command line): --status: expected one of new, acknowledged, acted, found 'done'\n")


def test_drill_list_json_has_one_record_per_drill() -> None:
    done = beamdrill("drill", "list", "--json", env=NARROW)
    assert (done.returncode, done.stderr) == (0, "")
    records = [("clean-demo", "clean-demo", "Clean demo run", 11),
               ("fm1-stuck-delivered", "stuck-delivered", "Async fan-out accepted, never acked", 6),
               ("fm2-queued-retries", "queued-retries", "Target offline, queued with retries, recovery", 9),
               ("fm3-dead-letter", "dead-letter", "Retries exhausted, dead letter, triage and requeue", 13),
               ("fm4-forbidden-acl", "forbidden-acl", "ACL entry removed, FORBIDDEN, exact fix", 8),
               ("fm5-rate-limit-shield", "rate-limit-shield", "Burst over the limits and an injection payload", 9),
               ("fire-drill", "fire-drill", "Production fire drill", 19),
               ("recovery-drill", "restart-recovery", "Bus and directory restarts, nothing lost", 10),
               ("as-coded-retry-defect", "queued-retries", "Beam's retry defect, as coded", 6),
               ("backup-restore-drill", "backup-restore", "Backup, destroy, restore, nothing changed", 14),
               ("restore-rpo-drill", "restore-rpo", "Restore from an older backup under traffic, RTO and RPO", 8)]
    assert json.loads(done.stdout) == {"drills": [
        {"drill": name, "file": f"drills/catalog/{name}.yaml", "rehearses": rehearses, "title": title,
         "expectations": expectations} for name, rehearses, title, expectations in records]}
