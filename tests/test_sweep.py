"""Sweeps: overrides by field path, measures against the run's own summary, common random
numbers, statistics, recovery, checkpoints and resume, and the same bytes on every executor."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from hypothesis import given, settings, strategies as st

from conftest import beamdrill
from drills.sweep import cell as cell_module
from drills.sweep.cell import CellJob, run_cell
from drills.sweep.executors import InProcess, LocalPool, Poll
from drills.sweep.grid import PathError, apply_override, load_plan
from drills.sweep.measures import MeasureSink
from drills.sweep.recovery import Recovery, time_to_recover
from drills.sweep.run import run_sweep
from drills.sweep.stats import estimate
from simulator import World, load_scenario, parse_scenario
from simulator.kernel.events import Event

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "sweeps" / "retries-under-load.yaml"
OUTAGE = ROOT / "sweeps" / "worlds" / "outage.yaml"
#: The files of a sweep's output that must be the same bytes however the sweep ran.
OUTPUTS = ("sweep.json", "cells.jsonl", "cells.csv", "summary.json", "report.md", "charts/goodput.png",
           "charts/peak_queue_depth.png")


def tiny_sweep(folder: Path, replications: int = 2) -> Path:
    """A sweep of 4 cells × ``replications`` runs of 4 virtual minutes of the outage world
    (three measures: each chart costs more than a run)."""
    path = folder / "tiny.yaml"
    path.write_text(f"name: tiny\nscenario: {OUTAGE}\nduration: 4m\nreplications: {replications}\n"
                    "grid:\n  - {path: load, values: [0.5, 1]}\n"
                    "  - {path: bus.max_retries, name: max_retries, values: [2, 5]}\n"
                    "recovery: {window: 30s, tolerance: 0.1}\nmeasures: [goodput, dead_letters, peak_queue_depth]\n")
    return path


def same_outputs(first: Path, second: Path) -> None:
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


# -- overrides by path -----------------------------------------------------------------

def outage_data() -> dict[str, Any]:
    return load_scenario(OUTAGE).model_dump(mode="json", by_alias=True)


def test_overrides_by_dotted_path_index_and_star() -> None:
    data = outage_data()
    apply_override(data, "bus.max_retries", 7)
    apply_override(data, "agents[2].failure_rate", 0.5)
    apply_override(data, "agents[*].clock_skew", 1.5)
    apply_override(data, "faults[0].duration", "90s")
    apply_override(data, "load", 2)
    assert data["bus"]["max_retries"] == 7
    assert [agent["failure_rate"] for agent in data["agents"]] == [0.0, 0.0, 0.5]
    assert [agent["clock_skew"] for agent in data["agents"]] == [1.5, 1.5, 1.5]
    assert data["faults"][0]["duration"] == "90s"
    assert [route["rate"] for route in data["traffic"]["routes"]] == [4.0, 6.0]


@pytest.mark.parametrize(("path", "message"), [
    ("bus.retries", "unknown field 'retries' in bus; expected one of: rate_limit_per_min, max_retries, "
                    "worker_interval, worker_batch, attempt_timeout, retry_policy, ip"),
    ("agents[3].latency", "expected an index below 3 (agents has 3 items), found 3"),
    ("bus.max_retries.x", "expected a mapping at bus.max_retries, found int"),
    ("bus[0]", "expected a list at bus, found dict"),
    ("bus max", "expected a scenario field path like bus.max_retries, agents[0].failure_rate, "
                "faults[0].duration or load, found 'bus max'"),
])
def test_a_path_that_leads_nowhere_says_where(path: str, message: str) -> None:
    with pytest.raises(PathError) as raised:
        apply_override(outage_data(), path, 1)
    assert str(raised.value) == message


def test_the_example_sweep_expands_to_six_cells_of_three_seeds() -> None:
    plan = load_plan(EXAMPLE)
    assert [plan.overrides(cell) for cell in plan.cells] == [
        {"load": 0.5, "max_retries": 2}, {"load": 0.5, "max_retries": 5}, {"load": 1, "max_retries": 2},
        {"load": 1, "max_retries": 5}, {"load": 2, "max_retries": 2}, {"load": 2, "max_retries": 5}]
    assert plan.seeds == [1, 2, 3]
    assert (plan.x.label, plan.compare.label if plan.compare else None) == ("load", "max_retries")
    assert plan.cells[5].scenario["bus"]["max_retries"] == 5
    assert [r["rate"] for r in plan.cells[5].scenario["traffic"]["routes"]] == [4.0, 6.0]
    assert len(plan.jobs()) == 18 and len({job.key for job in plan.jobs()}) == 18


def test_a_sweep_of_a_drill_runs_its_world_with_its_faults(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text("name: d\ndrill: fm2-queued-retries\nreplications: 1\n"
                    "grid:\n  - {path: bus.max_retries, values: [1, 5]}\n")
    plan = load_plan(path)
    assert plan.world == "drill drills/catalog/fm2-queued-retries.yaml"
    assert [cell.scenario["faults"][-1]["kind"] for cell in plan.cells] == ["agent_disconnect"] * 2
    assert plan.cells[0].scenario["duration"] == 720.0
    record = run_cell(plan.jobs()[0])
    assert record["status"] == "ok"
    assert record["measures"]["dead_letters"] == 1  # one attempt, finance offline: dead-lettered at once


# -- measures --------------------------------------------------------------------------

def test_measures_agree_with_the_runs_summary() -> None:
    world = World(load_scenario(OUTAGE), 3)
    sink = MeasureSink()
    world.subscribe(sink)
    summary = world.run()
    measures = sink.measures(world, world.now, 30.0, 0.1)
    sent = summary.traffic_sent
    assert measures.intents == sent["orders"] + sent["pings"]
    assert measures.attempts == summary.bus.attempts + sent["pings"]
    assert measures.delivered == summary.paths["directory"].states["acked"]
    assert measures.dead_letters == summary.bus.dead_letters_total
    assert measures.goodput == measures.delivered / 360.0
    assert measures.attempts_per_intent == measures.attempts / measures.intents
    assert measures.peak_queue_depth >= 1 and measures.recovered is True
    assert (measures.lost, measures.duplicated, measures.unexpected, measures.recovered_deliveries) == (None,) * 4


def test_peak_queue_depth_is_the_most_bus_messages_queued_at_once() -> None:
    sink = MeasureSink()
    moves = [("a", None, "received"), ("a", "received", "queued"), ("b", None, "received"), ("b", "received", "queued"),
             ("a", "queued", "dispatched"), ("c", None, "received"), ("c", "received", "queued"),
             ("a", "dispatched", "queued")]
    for nonce, before, after in moves:
        sink(Event(1.0, "transition", nonce, {"path": "bus", "from": before, "to": after}))
    assert (sink.queued, sink.peak_queued) == (3, 3)


def transitions_seen(data: dict[str, Any], seed: int) -> tuple[list[tuple[Any, ...]], int]:
    """Every send the senders made (time, kind, nonce) and the bus attempts, in one run."""
    world = World(parse_scenario(data), seed)
    sends: list[tuple[Any, ...]] = []
    attempts = [0]
    bus_nonces: set[str] = set()

    def sink(event: Event) -> None:
        if event.kind == "bus_accepted":
            bus_nonces.add(event.nonce or "")
            sends.append((event.time, "bus", event.data["sender"], event.data["intent"]))
        elif event.kind == "relay" and event.nonce not in bus_nonces:
            sends.append((event.time, "ws", event.nonce))
        elif event.kind == "attempt":
            attempts[0] += 1

    world.subscribe(sink)
    world.run()
    return sends, attempts[0]


def test_common_random_numbers_two_cells_differing_in_a_bus_knob_see_the_same_traffic() -> None:
    plan = load_plan(EXAMPLE)
    two, five = plan.cells[2].scenario, plan.cells[3].scenario  # load 1, max_retries 2 and 5
    assert two["bus"]["max_retries"] == 2 and five["bus"]["max_retries"] == 5
    sends_two, attempts_two = transitions_seen(two, 1)
    sends_five, attempts_five = transitions_seen(five, 1)
    assert len(sends_two) > 1000
    assert sends_two == sends_five
    assert attempts_two < attempts_five  # the knob changed what the bus did with the same traffic


# -- statistics and recovery -----------------------------------------------------------

def test_estimate_is_the_mean_and_students_t_interval() -> None:
    found = estimate([1.0, 2.0, 3.0])
    half = 4.302652729749464 / math.sqrt(3)  # t(0.975, 2) · s / √n with s = 1
    assert (found.n, found.mean) == (3, 2.0)
    assert found.low == pytest.approx(2.0 - half, abs=1e-12) and found.high == pytest.approx(2.0 + half, abs=1e-12)
    assert estimate([4.0, 4.0]).model_dump() == {"n": 2, "mean": 4.0, "low": 4.0, "high": 4.0}
    assert estimate([5.0]).model_dump() == {"n": 1, "mean": 5.0, "low": None, "high": None}
    assert estimate([]).model_dump() == {"n": 0, "mean": None, "low": None, "high": None}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=30))
def test_the_interval_holds_the_mean(values: list[float]) -> None:
    found = estimate(values)
    assert found.low is not None and found.high is not None and found.mean is not None
    assert found.low <= found.mean + 1e-6 and found.mean <= found.high + 1e-6


def test_recovery_is_the_first_full_window_back_at_the_baseline() -> None:
    before = [float(t) for t in range(0, 100)]  # 1/s before the fault at 100 s
    after = [130.0 + 0.5 * k for k in range(200)]  # 2/s from 130 s
    found = time_to_recover(before + after, 100.0, 120.0, False, 300.0, window=10.0, tolerance=0.1)
    # (t - 10, t] must lie after 120 and hold ceil(0.9 · 1 · 10) = 9 deliveries: 130..134 is the 9th at 134.0
    assert found == Recovery(True, 14.0)


def test_recovery_never_and_not_applicable() -> None:
    slow = [float(t) for t in range(0, 100)] + [200.0 + 5 * k for k in range(10)]
    assert time_to_recover(slow, 100.0, 120.0, False, 300.0, 10.0, 0.1) == Recovery(False, None)
    assert time_to_recover(slow, 100.0, 120.0, True, 300.0, 10.0, 0.1) == Recovery(False, None)
    assert time_to_recover(slow, None, None, False, 300.0, 10.0, 0.1) == Recovery(None, None)
    assert time_to_recover(slow, 0.0, 10.0, False, 300.0, 10.0, 0.1) == Recovery(None, None)
    assert time_to_recover([], 50.0, 60.0, False, 300.0, 10.0, 0.1) == Recovery(None, None)


# -- executors, checkpoints, resume ----------------------------------------------------

class Counting(InProcess):
    """In-process, counting the jobs it was given."""

    def __init__(self) -> None:
        self.ran: list[tuple[int, int]] = []

    def run(self, jobs: Sequence[CellJob], poll: Poll = lambda: None) -> Iterator[dict[str, Any]]:
        self.ran += [(job.cell, job.replication) for job in jobs]
        return super().run(jobs, poll)


def test_in_process_and_a_pool_of_two_write_the_same_bytes(tmp_path: Path) -> None:
    plan = load_plan(tiny_sweep(tmp_path))
    alone = run_sweep(plan, InProcess(), tmp_path / "one", resume=False)
    pooled = run_sweep(plan, LocalPool(2), tmp_path / "two", resume=False)
    assert (alone.ran, alone.failed, pooled.ran, pooled.failed) == (8, 0, 8, 0)
    same_outputs(tmp_path / "one", tmp_path / "two")
    lines = (tmp_path / "one" / "cells.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert [(json.loads(line)["cell"], json.loads(line)["replication"]) for line in lines] == \
        [(c, r) for c in range(4) for r in range(2)]
    assert (first["seed"], first["overrides"], first["scenario"]["bus"]["max_retries"]) == (1, {"load": 0.5, "max_retries": 2}, 2)
    assert first["scenario"]["duration"] == 240.0


def test_resume_runs_only_the_missing_and_failed_runs(tmp_path: Path) -> None:
    plan = load_plan(tiny_sweep(tmp_path))
    run_sweep(plan, InProcess(), tmp_path / "whole", resume=False)
    out = tmp_path / "part"
    run_sweep(plan, InProcess(), out, resume=False)
    (out / "cells" / "0001-000.json").unlink()
    (out / "cells" / "0003-001.json").unlink()
    failed = json.loads((out / "cells" / "0002-000.json").read_text())
    (out / "cells" / "0002-000.json").write_text(json.dumps({**failed, "status": "failed", "measures": None}))
    counting = Counting()
    outcome = run_sweep(plan, counting, out, resume=True)
    assert counting.ran == [(1, 0), (2, 0), (3, 1)]
    assert (outcome.ran, outcome.reused) == (3, 5)
    same_outputs(tmp_path / "whole", out)
    again = Counting()
    run_sweep(plan, again, out, resume=False)  # without --resume everything runs afresh
    assert len(again.ran) == 8


def test_a_failing_cell_is_recorded_and_the_sweep_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = cell_module.World

    def world(scenario: Any, seed: int | None = None) -> World:
        if scenario.bus.max_retries == 5 and seed == 2:
            raise RuntimeError("a broken cell")
        return real(scenario, seed)

    monkeypatch.setattr(cell_module, "World", world)
    result = beamdrill("sweep", tiny_sweep(tmp_path), "--workers", "1", "--out", tmp_path / "out")
    assert result.returncode == 1, result.stderr
    assert "8 runs on in-process, 0 kept from before, 2 failed" in result.stderr
    report = (tmp_path / "out" / "report.md").read_text()
    assert "- runs: 8 of 8 done, 2 failed" in report
    assert "- cell 1, replication 1 (seed 2): RuntimeError: a broken cell (at test_sweep.py:" in report
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert [(c["runs"], c["failed"]) for c in summary["cells"]] == [(2, 0), (2, 1), (2, 0), (2, 1)]
    assert summary["cells"][1]["measures"]["goodput"]["n"] == 1


def test_the_command_prints_the_table_and_json(tmp_path: Path) -> None:
    result = beamdrill("sweep", tiny_sweep(tmp_path, replications=1), "--workers", "1", "--out", tmp_path / "out",
                       "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (document["status"], document["runs_total"], document["runs_done"], document["runs_failed"]) == \
        ("complete", 4, 4, 0)
    assert [d["at"] for d in document["differences"]] == [{"load": 0.5}, {"load": 1}]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["cells", "cells.csv", "cells.jsonl", "charts", "report.md", "summary.json", "sweep.json"]
    header = (tmp_path / "out" / "cells.csv").read_text().splitlines()[0]
    assert header.startswith("cell,load,max_retries,replication,seed,status,error,intents,delivered,attempts,goodput,")


def test_the_bench_sweep_is_four_cells_of_runs_of_a_few_virtual_minutes(tmp_path: Path) -> None:
    from drills.benchmark.sweeps import bench_sweep

    plan = load_plan(bench_sweep(tmp_path, minutes=30, replications=2))
    assert len(plan.jobs()) == 8
    assert {cell.scenario["duration"] for cell in plan.cells} == {1800.0}
    assert [plan.overrides(cell) for cell in plan.cells] == [
        {"load": 2, "bus.max_retries": 2}, {"load": 2, "bus.max_retries": 5},
        {"load": 3, "bus.max_retries": 2}, {"load": 3, "bus.max_retries": 5}]


def test_a_scheduler_that_does_not_answer_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = beamdrill("sweep", tiny_sweep(tmp_path), "--scheduler", "tcp://127.0.0.1:9", "--out", tmp_path / "out")
    assert result.returncode == 2
    assert result.stderr.startswith("(command line): --scheduler: expected a Dask scheduler answering at "
                                    "tcp://127.0.0.1:9, found none within 5 s (")
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_a_refused_frame_is_one_attempt_of_one_intent() -> None:
    data = outage_data()
    apply_override(data, "traffic.routes[1].via", "http")
    apply_override(data, "directory.public_limits.per_sender_per_min", 20)
    world = World(parse_scenario(data), 1)
    sink = MeasureSink()
    world.subscribe(sink)
    summary = world.run()
    measures = sink.measures(world, world.now, 30.0, 0.1)
    assert summary.directory.rejections_by_code["RATE_LIMITED"] > 100
    sent = summary.traffic_sent
    assert measures.intents == sent["orders"] + sent["pings"]
    assert measures.attempts == summary.bus.attempts + sent["pings"]
