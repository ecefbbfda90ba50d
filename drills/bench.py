"""``beamdrill bench``'s telemetry section: what metrics and tracing every intent cost
partner-day, as ratios to the untraced run, measured in one process. The performance
cases are :mod:`drills.benchmark`.

The machines are shared and noisy, so the runs go in interleaved rounds and the medians
are compared; all run under the same garbage-collector settings.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console

from drills.runs.wholetable import WholeTable
from simulator.kernel.gctune import tuned_gc
from simulator import load_scenario
from simulator.telemetry.metrics import MetricsRecorder
from simulator.telemetry.otlp import OtlpJsonlWriter
from simulator.telemetry.sampling import parse_sampling
from simulator.telemetry.spans import SpanRecorder
from simulator.world import World

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "partner-day.yaml"
HOUR = 3600.0


def _telemetry_run(seed: int, hours: float, mode: str) -> tuple[float, int]:
    """One partner-day run of ``hours`` with telemetry ``mode`` ('none', 'metrics' or
    'traces'); return the wall seconds (including writing the file) and the intents."""
    world = World(load_scenario(SCENARIO), seed)
    recorder = MetricsRecorder(world) if mode == "metrics" else None
    with tuned_gc(), tempfile.TemporaryFile("w+", encoding="utf-8") as sink:
        started = time.perf_counter()
        writer = OtlpJsonlWriter(sink, world.scenario.epoch_ns, {}) if mode == "traces" else None
        spans = SpanRecorder(world.seed, parse_sampling("all"), writer.add) if writer is not None else None
        if spans is not None:
            world.subscribe(spans)
        world.env.run(until=hours * HOUR)
        if recorder is not None:
            recorder.finish()
            recorder.write_openmetrics(sink, world.scenario.epoch.timestamp())
        if spans is not None and writer is not None:
            for views in spans.traces(until=world.now).views():
                writer.add(views)
            writer.close()
        return time.perf_counter() - started, world.accepted("directory")


def run_telemetry_bench(seed: int, console: Console, rounds: int = 3, hours: float = 6.0) -> dict[str, float]:
    """Cost of metrics and of tracing every intent to the OTLP file, as ratios to the
    untraced run, interleaved rounds, medians."""
    walls: dict[str, list[float]] = {"none": [], "metrics": [], "traces": []}
    intents = 0
    for round_number in range(1, rounds + 1):
        for mode in walls:
            wall, intents = _telemetry_run(seed, hours, mode)
            walls[mode].append(wall)
        console.print(f"  telemetry round {round_number}/{rounds}: " + ", ".join(
            f"{mode} {values[-1]:.2f} s" for mode, values in walls.items()), highlight=False)
    base = statistics.median(walls["none"])
    ratios = {mode: statistics.median(values) / base for mode, values in walls.items()}
    table = WholeTable(title=f"telemetry cost: partner-day, first {hours:g} virtual hours ({intents:,} intents)")
    for column in ("run", "median wall s", "ratio to untraced", "goal"):
        table.add_column(column, justify="left" if column == "run" else "right")
    table.add_row("untraced", f"{base:.2f}", "1.00", "")
    table.add_row("metrics on (metrics.om written)", f"{statistics.median(walls['metrics']):.2f}",
                  f"{ratios['metrics']:.2f}", "≤ 1.2")
    table.add_row("every intent traced (traces.otlp.jsonl written)", f"{statistics.median(walls['traces']):.2f}",
                  f"{ratios['traces']:.2f}", "≤ 2")
    console.print(table)
    return {"metrics_ratio": ratios["metrics"], "traces_ratio": ratios["traces"]}
