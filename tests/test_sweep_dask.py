"""A sweep on a real Dask distributed cluster on loopback (a scheduler and two worker
processes) writes the same bytes as the local process pool."""

from __future__ import annotations

from pathlib import Path

from drills.sweep.executors import DaskCluster, LocalPool
from drills.sweep.grid import load_plan
from drills.sweep.run import run_sweep

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "sweeps" / "retries-under-load.yaml"
OUTPUTS = ("sweep.json", "cells.jsonl", "cells.csv", "summary.json", "report.md", "charts/goodput.png")


def test_dask_and_the_local_pool_give_the_same_results(tmp_path: Path) -> None:
    from distributed import LocalCluster

    plan = load_plan(EXAMPLE)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # type: ignore[no-untyped-call]
        dask = run_sweep(plan, DaskCluster(cluster.scheduler_address), tmp_path / "dask", resume=False)
    pool = run_sweep(plan, LocalPool(2), tmp_path / "pool", resume=False)
    assert (dask.ran, dask.failed, pool.ran, pool.failed) == (18, 0, 18, 0)
    for name in OUTPUTS:
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "pool" / name).read_bytes(), name
