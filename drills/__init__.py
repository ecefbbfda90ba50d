"""beamdrill's exercise half: drill files and their runner, proof packs, the command line.

Run a built-in drill from Python::

    from pathlib import Path
    from drills import load_drill, run_drill
    outcome = run_drill(load_drill("drills/catalog/fm3-dead-letter.yaml"), Path("runs/fm3"))
    print(outcome.verdict, outcome.journal.expectations_held)

Judge a canary's samples against a baseline's (Kayenta's Mann–Whitney judge)::

    from drills import judge
    from drills.canary import JudgeConfig, MetricSpec
    print(judge({"latency_ms": (baseline, canary)}, JudgeConfig(metrics=[MetricSpec(name="latency_ms")])).decision)
"""

from typing import TYPE_CHECKING, Any

from drills.drillfile.loader import DrillError, LoadedDrill, load_drill

if TYPE_CHECKING:
    from drills.canary import compare_metric, judge
    from drills.executor.execute import DrillOutcome, run_drill


def __getattr__(name: str) -> Any:
    """``run_drill`` and ``DrillOutcome`` are imported on first use: the drill executor
    brings in the proof pack's charts and the exporters, which a sweep's worker processes
    (importing :mod:`drills.sweep.cell`) never need; so are ``judge`` and ``compare_metric``
    (they bring in SciPy)."""
    if name in ("DrillOutcome", "run_drill"):
        from drills.executor import execute

        return getattr(execute, name)
    if name in ("compare_metric", "judge"):
        import drills.canary

        return getattr(drills.canary, name)
    raise AttributeError(f"module 'drills' has no attribute {name!r}")

__all__ = ["DrillError", "DrillOutcome", "LoadedDrill", "compare_metric", "judge", "load_drill", "run_drill"]
