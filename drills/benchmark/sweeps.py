"""The sweep bench (``beamdrill bench --sweeps``): the same runs of a few seconds each on
one worker (in this process), on a local pool of two, and on a Dask cluster of two worker
processes on loopback; the pool's speed-up and Dask's extra wall time per run.

Parallel speed-up is about wall time, so unlike the other cases this one reads the wall
clock (``time.perf_counter``) around each whole sweep, outputs included. Each executor
writes its own output directory under a temporary folder; the three must agree byte for
byte, and the bench says so.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Final

from drills.benchmark.table import Bound, Row, best_and_median, row
from drills.sweep.executors import DaskCluster, Executor, InProcess, LocalPool
from drills.sweep.grid import load_plan
from drills.sweep.run import run_sweep

OUTAGE: Final[Path] = Path(__file__).resolve().parents[1] / "sweeps" / "worlds" / "outage.yaml"
#: What the issue wants of two workers against one.
SPEEDUP_BOUND: Final[Bound] = Bound(op=">=", value=1.8)
WORKERS: Final[int] = 2


def bench_sweep(folder: Path, minutes: int, replications: int) -> Path:
    """A sweep of 4 cells × ``replications`` runs, each ``minutes`` virtual minutes of the
    outage world at 2× and 3× load (about 0.1 s of CPU per virtual minute)."""
    path = folder / "bench.yaml"
    path.write_text(f"name: bench\nscenario: {OUTAGE}\nduration: {minutes}m\nreplications: {replications}\n"
                    "grid:\n  - {path: load, values: [2, 3]}\n  - {path: bus.max_retries, values: [2, 5]}\n"
                    "measures: [goodput, latency_p99]\n")
    return path


def _timed(executor: Executor, plan_path: Path, out: Path) -> float:
    plan = load_plan(plan_path)
    started = time.perf_counter()
    outcome = run_sweep(plan, executor, out, resume=False)
    elapsed = time.perf_counter() - started
    if outcome.failed:
        raise RuntimeError(f"{outcome.failed} bench runs failed on {executor.name}")
    return elapsed


def sweep_rows(rounds: int = 1, minutes: int = 30, replications: int = 2) -> list[Row]:
    """Time the bench sweep on each executor ``rounds`` times; the table's rows."""
    from distributed import LocalCluster

    one: list[float] = []
    two: list[float] = []
    dask: list[float] = []
    same = True
    with tempfile.TemporaryDirectory(prefix="beamdrill-sweep-bench-") as temporary:
        folder = Path(temporary)
        path = bench_sweep(folder, minutes, replications)
        runs = len(load_plan(path).jobs())
        for number in range(rounds):
            one.append(_timed(InProcess(), path, folder / f"one-{number}"))
            two.append(_timed(LocalPool(WORKERS), path, folder / f"pool-{number}"))
            # The cluster lives only for its own timing: its idle workers' heartbeats would
            # otherwise run beside the other two executors. Its start-up is not timed.
            with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, host="127.0.0.1",
                              dashboard_address=None) as cluster:  # type: ignore[no-untyped-call]
                dask.append(_timed(DaskCluster(cluster.scheduler_address), path, folder / f"dask-{number}"))
            for other in ("pool", "dask"):
                for name in ("cells.jsonl", "cells.csv", "report.md"):
                    same &= (folder / f"one-{number}" / name).read_bytes() == \
                        (folder / f"{other}-{number}" / name).read_bytes()
    note = f"{runs} runs of {minutes} virtual min, outputs {'identical' if same else 'DIFFER'} on all three"
    best_one, median_one = best_and_median(one)
    best_two, median_two = best_and_median(two)
    overhead = [(d - p) / runs for d, p in zip(dask, two)]
    best_overhead, median_overhead = best_and_median(overhead)
    return [
        row("(g) sweeps", "wall s, 1 worker (in-process)", "s", best_one, median_one, rounds, note=note),
        row("(g) sweeps", f"wall s, process pool of {WORKERS}", "s", best_two, median_two, rounds),
        row("(g) sweeps", f"wall s, Dask, {WORKERS} worker processes on loopback", "s", *best_and_median(dask),
            rounds),
        row("(g) sweeps", f"speed-up, {WORKERS} workers / 1", "×", best_one / best_two, median_one / median_two,
            rounds, bound=SPEEDUP_BOUND),
        row("(g) sweeps", "Dask's extra wall s per run over the local pool", "s", best_overhead, median_overhead,
            rounds),
    ]
