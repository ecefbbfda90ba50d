"""A sweep killed midway (SIGINT, or SIGKILL with no chance to clean up) keeps every run it
finished; ``--resume`` runs only the missing ones and ends with the same files as a sweep
that was never interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drills.sweep.executors import InProcess
from drills.sweep.grid import load_plan
from drills.sweep.run import run_sweep
from test_sweep import Counting

ROOT = Path(__file__).resolve().parent.parent
OUTAGE = ROOT / "sweeps" / "worlds" / "outage.yaml"
OUTPUTS = ("sweep.json", "cells.jsonl", "cells.csv", "summary.json", "report.md", "charts/goodput.png")
RUNS = 12
#: Guards on waiting for the child (never a timing assertion).
WAIT_S = 120


def sweep_file(folder: Path) -> Path:
    path = folder / "slow.yaml"
    path.write_text(f"name: slow\nscenario: {OUTAGE}\nreplications: 3\n"
                    "grid:\n  - {path: load, values: [2, 3]}\n  - {path: bus.max_retries, values: [2, 5]}\n"
                    "measures: [goodput, dead_letters]\n")
    return path


def kept(out: Path) -> list[str]:
    folder = out / "cells"
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


def start(path: Path, out: Path, workers: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "drills", "sweep", str(path), "--workers", str(workers), "--out", str(out)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_runs(child: subprocess.Popen[str], out: Path, at_least: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while len(kept(out)) < at_least:
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "no runs were checkpointed"
        time.sleep(0.05)


def finish(path: Path, out: Path, whole: Path) -> list[tuple[int, int]]:
    """Resume ``out`` in this process and compare it with an uninterrupted sweep in ``whole``."""
    plan = load_plan(path)
    before = kept(out)
    counting = Counting()
    outcome = run_sweep(plan, counting, out, resume=True)
    assert len(counting.ran) == RUNS - len(before)
    assert {f"{c:04d}-{r:03d}.json" for c, r in counting.ran}.isdisjoint(before)
    assert outcome.reused == len(before) and outcome.failed == 0
    run_sweep(plan, InProcess(), whole, resume=False)
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (whole / name).read_bytes(), name
    return counting.ran


@pytest.mark.parametrize("workers", [1, 2])
def test_sigint_writes_what_is_done_exits_130_and_resume_runs_the_rest(tmp_path: Path, workers: int) -> None:
    path, out = sweep_file(tmp_path), tmp_path / "out"
    child = start(path, out, workers)
    try:
        wait_for_runs(child, out, 3)
        child.send_signal(signal.SIGINT)
        stdout, stderr = child.communicate(timeout=WAIT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, stderr
    done = kept(out)
    assert 3 <= len(done) < RUNS
    assert f"interrupted by SIGINT: {len(done)} of {RUNS} runs done, written in {out}; --resume runs the rest" in stderr
    assert "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["status"], summary["runs_done"]) == ("interrupted", len(done))
    assert f"- **interrupted**: {RUNS - len(done)} runs not done" in (out / "report.md").read_text()
    finish(path, out, tmp_path / "whole")


def test_sigkill_loses_only_the_runs_in_flight(tmp_path: Path) -> None:
    path, out = sweep_file(tmp_path), tmp_path / "out"
    child = start(path, out, 1)
    try:
        wait_for_runs(child, out, 4)
        os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=WAIT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not (out / "report.md").exists()
    for name in kept(out):  # every checkpoint that exists is whole
        assert json.loads((out / "cells" / name).read_text())["status"] == "ok"
    finish(path, out, tmp_path / "whole")
