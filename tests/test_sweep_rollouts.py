"""Rollout sweeps: a sweep file naming a canary rollout, overrides of the rollout and its
scenario by path, the rollout measures against ``beamdrill canary --seed N``, Wilson's
interval against SciPy, the same bytes in process and on a pool, and resume."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from hypothesis import given, settings, strategies as st

from conftest import beamdrill
from drills.sweep.cell import CellJob
from drills.sweep.executors import InProcess, LocalPool, Poll
from drills.sweep.grid import Plan, load_plan
from drills.sweep.run import run_sweep
from drills.sweep.stats import share, wilson

#: The files of a rollout sweep's output that must be the same bytes however it ran.
OUTPUTS = ("sweep.json", "cells.jsonl", "cells.csv", "summary.json", "report.md")
#: ``beamdrill canary assistant-v3-slow --seed N``, N = 1, 2, 3: decision, the step it was
#: decided at, rollback seconds, rolled back within 5 minutes, blast radius intents.
SLOW_BY_SEED = {1: ("Failed", 0, 150.0, True, 57), 2: ("Failed", 0, 150.0, True, 67),
                3: ("Failed", 0, 150.0, True, 64)}


def slow_sweep(folder: Path) -> Path:
    """Three seeds of assistant-v3-slow as shipped (one cell; no charts: they cost more than a run)."""
    path = folder / "slow.yaml"
    path.write_text("name: slow\nrollout: assistant-v3-slow\nseed: 1\nreplications: 3\ncharts: false\n"
                    "grid:\n  - {path: change.latency_factor, values: [1.8]}\n")
    return path


class Counting(InProcess):
    """In-process, counting the jobs it was given."""

    def __init__(self) -> None:
        self.ran: list[tuple[int, int]] = []

    def run(self, jobs: Sequence[CellJob], poll: Poll = lambda: None) -> Iterator[dict[str, Any]]:
        self.ran += [(job.cell, job.replication) for job in jobs]
        return super().run(jobs, poll)


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three-seed sweep run in this process, once: its output directory (the sweep file
    beside it, as sweep.json records the file)."""
    folder = tmp_path_factory.mktemp("slow")
    outcome = run_sweep(load_plan(slow_sweep(folder)), InProcess(), folder / "out", resume=False)
    assert (outcome.ran, outcome.failed) == (3, 0)
    return folder / "out"


def slow_plan(in_process: Path) -> Plan:
    """The plan of the sweep ``in_process`` ran."""
    return load_plan(in_process.parent / "slow.yaml")


def same_outputs(first: Path, second: Path) -> None:
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# -- what a rollout run measures -------------------------------------------------------

def test_each_seed_of_the_slow_version_is_caught_at_the_first_step_as_beamdrill_canary_finds(in_process: Path) -> None:
    lines = [json.loads(line) for line in (in_process / "cells.jsonl").read_text().splitlines()]
    found = {line["seed"]: (line["measures"]["decision"], line["measures"]["decided_at_step"],
                            line["measures"]["rollback_seconds"], line["measures"]["rolled_back_within_limit"],
                            line["measures"]["blast_radius_intents"]) for line in lines}
    assert found == SLOW_BY_SEED
    assert [line["measures"]["caught_at_first_step"] for line in lines] == [True, True, True]
    assert [(line["measures"]["failed"], line["measures"]["promoted"], line["measures"]["inconclusive"])
            for line in lines] == [(True, False, False)] * 3
    assert {line["measures"]["first_step_exposure_pct"] for line in lines} == {3.9855}
    assert lines[0]["rollout"]["change"]["latency_factor"] == 1.8
    assert lines[0]["scenario"]["name"] == lines[0]["rollout"]["scenario"] == "canary-day"
    summary = json.loads((in_process / "summary.json").read_text())
    [cell] = summary["cells"]
    caught = cell["measures"]["caught_at_first_step"]
    assert (caught["n"], caught["mean"], caught["high"]) == (3, 1.0, 1.0)
    assert caught["low"] == pytest.approx(0.438503, abs=1e-6)  # Wilson, 3 of 3
    assert cell["measures"]["blast_radius_intents"]["mean"] == pytest.approx(188 / 3)
    assert cell["measures"]["rollback_seconds"]["low"] == cell["measures"]["rollback_seconds"]["high"] == 150.0


def test_the_sweep_agrees_with_beamdrill_canary_for_a_seed(tmp_path: Path) -> None:
    done = beamdrill("canary", "assistant-v3-slow", "--seed", "2", "--no-telemetry", "--json", "--out", tmp_path / "c")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert (result["decision"], result["intervals"][-1]["step"], result["rollback"]["seconds"],
            result["rollback"]["completed_within_5_minutes"], result["blast_radius"]["intents"]) == SLOW_BY_SEED[2]


def test_report_and_csv_give_the_caught_share_with_its_wilson_interval(in_process: Path) -> None:
    report = (in_process / "report.md").read_text()
    assert "- world: rollout drills/rollouts/assistant-v3-slow.yaml" in report
    assert "the share of runs and its 95 % Wilson binomial interval" in report
    assert "| 0 | 1.8 | 3/3 | 1 [0.4385, 1] | 1 [0.4385, 1] | 0 [0, 0.5615] | 0 [0, 0.5615] | 1 [0.4385, 1] | " \
           "150 [150, 150] | 62.67 [49.92, 75.41] |" in report
    assert "recovery:" not in report
    rows = (in_process / "cells.csv").read_text().splitlines()
    assert rows[0] == ("cell,change.latency_factor,replication,seed,status,error,decision,decided_at_step,"
                       "first_step_exposure_pct,caught_at_first_step,failed,inconclusive,promoted,"
                       "rolled_back_within_limit,rollback_seconds,blast_radius_intents")
    assert rows[1] == "0,1.8,0,1,ok,,Failed,0,3.9855,True,True,False,False,True,150.0,57"


# -- executors and resume --------------------------------------------------------------

def test_in_process_and_a_pool_of_two_write_the_same_bytes(in_process: Path, tmp_path: Path) -> None:
    pooled = run_sweep(slow_plan(in_process), LocalPool(2), tmp_path / "two", resume=False)
    assert (pooled.ran, pooled.failed) == (3, 0)
    same_outputs(in_process, tmp_path / "two")


def test_resume_runs_only_the_missing_and_failed_rollout_runs(in_process: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(in_process, out)
    (out / "cells" / "0000-001.json").unlink()
    kept = json.loads((out / "cells" / "0000-002.json").read_text())
    (out / "cells" / "0000-002.json").write_text(json.dumps({**kept, "status": "failed", "measures": None}))
    counting = Counting()
    outcome = run_sweep(slow_plan(in_process), counting, out, resume=True)
    assert counting.ran == [(0, 1), (0, 2)]
    assert (outcome.ran, outcome.reused) == (2, 1)
    same_outputs(in_process, out)


# -- overrides of the rollout and its scenario ----------------------------------------

def test_overrides_reach_the_rollout_its_first_canary_step_and_its_scenario(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nrollout: assistant-v2-harmless\nreplications: 2\n"
                    "grid:\n  - {path: exposure, values: [2.5]}\n  - {path: steps.2.weight, values: [30]}\n"
                    "  - {path: change.latency_factor, values: [1.2]}\n  - {path: analysis.min_samples, values: [10]}\n"
                    "  - {path: scenario.bus.max_retries, values: [3]}\n  - {path: load, values: [2]}\n")
    plan = load_plan(path)
    [cell] = plan.cells
    assert cell.rollout is not None
    assert [(step["action"], step.get("weight")) for step in cell.rollout["steps"]] == [
        ("shadow", None), ("canary", 2.5), ("canary", 30.0), ("pause", None), ("canary", 50.0)]
    assert (cell.rollout["change"]["latency_factor"], cell.rollout["analysis"]["min_samples"]) == (1.2, 10)
    assert cell.rollout["scenario"] == "canary-day"
    assert (cell.scenario["bus"]["max_retries"], cell.scenario["traffic"]["routes"][0]["rate"]) == (3, 0.4)
    assert plan.seeds == [5, 6]  # the rollout has no seed: its scenario's
    assert list(plan.sweep.measures) == ["caught_at_first_step", "failed", "inconclusive", "promoted",
                                         "rolled_back_within_limit", "rollback_seconds", "blast_radius_intents"]
    jobs = plan.jobs()
    assert [(job.seed, job.rollout is cell.rollout) for job in jobs] == [(5, True), (6, True)]
    assert len({job.key for job in jobs}) == 2


def test_a_rollout_axis_sweeps_over_rollouts_each_with_its_own_scenario(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nseed: 1\nreplications: 1\n"
                    "grid:\n  - {path: rollout, values: [assistant-v3-slow, bus-aggressive-retries]}\n"
                    "  - {path: exposure, values: [1, 5]}\n")
    plan = load_plan(path)
    assert plan.world == "rollouts drills/rollouts/assistant-v3-slow.yaml, drills/rollouts/bus-aggressive-retries.yaml"
    assert [(plan.overrides(cell)["rollout"], cell.rollout["name"] if cell.rollout else None,
             cell.rollout["steps"][0]["weight"] if cell.rollout else None) for cell in plan.cells] == [
        ("assistant-v3-slow", "assistant-v3-slow", 1), ("assistant-v3-slow", "assistant-v3-slow", 5),
        ("bus-aggressive-retries", "bus-aggressive-retries", 1), ("bus-aggressive-retries", "bus-aggressive-retries", 5)]
    assert [cell.scenario["name"] for cell in plan.cells[1:3]] == ["canary-day", "canary-day-bus"]


def test_the_built_in_judge_power_study_is_three_rollouts_at_three_exposures() -> None:
    from drills.sweep.builtin import resolve_sweep

    found = resolve_sweep("judge-power")
    assert isinstance(found, Path)
    plan = load_plan(found)
    assert (len(plan.cells), plan.seeds, plan.x.label, plan.sweep.study) == (9, list(range(1, 9)), "exposure",
                                                                               "judge-power")


# -- Wilson's interval -----------------------------------------------------------------

def hand_wilson(count: int, total: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval written out (what drills/canary/power.py computed by hand before SciPy)."""
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 2000).flatmap(lambda total: st.tuples(st.integers(0, total), st.just(total))))
def test_scipys_wilson_interval_is_the_hand_written_one(case: tuple[int, int]) -> None:
    count, total = case
    low, high = wilson(count, total)
    expected = hand_wilson(count, total)
    assert low == pytest.approx(expected[0], abs=1e-12) and high == pytest.approx(expected[1], abs=1e-12)
    assert 0.0 <= low <= count / total <= high <= 1.0


def test_the_power_table_rounds_the_same_numbers_as_before() -> None:
    from drills.canary.power import proportion

    for count, total in [(0, 1), (1, 3), (20, 20), (1, 20), (7, 10), (13, 40), (0, 1000), (999, 1000)]:
        low, high = hand_wilson(count, total, z=1.959964)  # the constant the hand-written version used
        found = proportion(count, total)
        assert (found.low, found.high) == (round(low, 6), round(high, 6)), (count, total)
    assert proportion(0, 0).model_dump() == {"count": 0, "fraction": 0.0, "low": 0.0, "high": 1.0}


def test_a_share_is_the_fraction_of_ones_with_its_wilson_interval() -> None:
    found = share([1.0, 0.0, 1.0, 1.0])
    assert (found.n, found.mean) == (4, 0.75)
    assert (found.low, found.high) == pytest.approx(hand_wilson(3, 4), abs=1e-12)
    assert share([]).model_dump() == {"n": 0, "mean": None, "low": None, "high": None}
