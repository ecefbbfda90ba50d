"""``beamdrill scenario list`` and ``beamdrill drill show``: the built-in scenarios, and a
drill as it will run, for people and (``--json``) for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import beamdrill
from drills.drillfile.builtin import CATALOG, builtin_drills
from drills.drillfile.loader import load_drill
from drills.drillfile.schema import Drill

NARROW = {"COLUMNS": "40"}
SCENARIOS = [
    {"name": "canary-day", "file": "drills/scenarios/canary-day.yaml",
     "description": "43 tenants sharing one assistant agent: the world canary rollouts run in",
     "agents": 44, "duration": 7200.0, "faults": 0},
    {"name": "demo", "file": "drills/scenarios/demo.yaml",
     "description": "Beam quickstart demo stack, one run of the quote approval workflow",
     "agents": 4, "duration": 120.0, "faults": 0},
    {"name": "partner-day", "file": "drills/scenarios/partner-day.yaml",
     "description": "A day of partner traffic around the quote approval workflow",
     "agents": 34, "duration": 86400.0, "faults": 0},
    {"name": "partner-incident", "file": "drills/scenarios/partner-incident.yaml",
     "description": "Partner traffic with a scheduled mix of faults across every layer",
     "agents": 34, "duration": 10800.0, "faults": 17},
]


def test_scenario_list_json_has_one_record_per_built_in_scenario() -> None:
    done = beamdrill("scenario", "list", "--json", env=NARROW)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"scenarios": SCENARIOS}


def test_scenario_list_shows_name_file_agents_duration_and_faults_whole() -> None:
    done = beamdrill("scenario", "list", env=NARROW)
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    header = [cell.strip() for cell in lines[1].strip("┃").split("┃")]
    assert header == ["scenario", "file", "agents", "duration", "faults", "description"]
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if line.startswith("│")]
    assert [row[:5] for row in rows if row[0]] == [
        ["canary-day", "drills/scenarios/canary-day.yaml", "44", "2h", "0"],
        ["demo", "drills/scenarios/demo.yaml", "4", "2m", "0"],
        ["partner-day", "drills/scenarios/partner-day.yaml", "34", "1d", "0"],
        ["partner-incident", "drills/scenarios/partner-incident.yaml", "34", "3h", "17"]]


def test_drill_show_lists_the_drill_as_it_will_run() -> None:
    done = beamdrill("drill", "show", "fm4-forbidden-acl", env=NARROW)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "fm4-forbidden-acl: ACL entry removed, FORBIDDEN, exact fix",
        "  file       drills/catalog/fm4-forbidden-acl.yaml",
        "  rehearses  forbidden-acl",
        "  scenario   drills/scenarios/demo.yaml (demo)",
        "  seed       7 (the scenario's)",
        "  duration   5m",
        "faults",
        "  from 0s        preflight ACL row deleted: acl_remove target=finance@acme.beam.directory "
        "intent=purchase.preflight allowed_from=partner-desk@northwind.beam.directory",
        "steps",
        "  at 1m          export_evidence datasets=errors,audit,dead_letters",
        "  at 2m          restore the exact ACL entry: fix_root_cause fault=preflight ACL row deleted",
        "  at 3m          requeue_dead_letters",
        "expectations",
        "  by 30s         the quote itself is allowed: trace_status step=quote = acked",
        "  by 10s         immediate dead letter: trace_status step=preflight path=bus = dead_letter",
        "  at 1m          no retry: retry_count step=preflight = 0",
        "  at 1m          the error is the ACL's refusal: error step=preflight path=bus = ACL denied intent "
        "purchase.preflight from partner-desk@northwind.beam.directory to finance@acme.beam.directory",
        "  at 1m          audit shows the ACL change: audit action=acl.deleted mentions=purchase.preflight = 1",
        "  at 1m          guidance points at the ACL: guidance step=preflight path=bus contains 'exact ACL entry'",
        "  at 2m30s       the exact entry is restored: audit action=acl.created "
        "mentions=partner-desk@northwind.beam.directory = 1",
        "  from 3m by 4m  delivered after the requeue: trace_status step=preflight path=bus = delivered",
        "steady state after",
        "  nothing lost: invariant = held",
        "  dead_letters = 0",
    ]


def test_drill_show_gives_fault_windows_seed_and_guards() -> None:
    done = beamdrill("drill", "show", str(CATALOG / "recovery-drill.yaml"))
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    faults = lines[lines.index("faults") + 1:lines.index("steps")]
    assert [line.split(": ")[0] for line in faults] == [
        "  from 0s to 2m        finance slow", "  at 20s               bus restart",
        "  from 2m50s to 3m50s  warehouse slow", "  at 3m5s              directory restart"]
    fm3 = beamdrill("drill", "show", "fm3-dead-letter").stdout.splitlines()
    assert fm3[4:6] == ["  seed       7 (the scenario's)", "  duration   20m"]
    assert fm3[-2:] == ["guards (every 5s)", "  the bus keeps every message: invariant = held"]


@pytest.mark.parametrize("path", builtin_drills(), ids=lambda path: path.stem)
def test_drill_show_json_is_the_validated_drill_and_reads_back(path: Path) -> None:
    loaded = load_drill(path)
    done = beamdrill("drill", "show", loaded.name, "--json", env=NARROW)
    assert (done.returncode, done.stderr) == (0, "")
    document = json.loads(done.stdout)
    assert document == loaded.drill.model_dump(mode="json", by_alias=True)
    assert Drill.model_validate(document) == loaded.drill
    for probe in document["expectations"]:  # only the comparison the file gives
        assert len({"equals", "one_of", "contains", "at_least", "at_most"} & set(probe)) in (1, 2)


def test_drill_show_of_an_unknown_drill_is_one_line_and_exit_2() -> None:
    done = beamdrill("drill", "show", "fm9-nothing", "--json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("(command line): DRILL: expected a drill file or one of clean-demo, ")
    assert done.stderr.endswith(", found 'fm9-nothing'\n") and len(done.stderr.splitlines()) == 1
