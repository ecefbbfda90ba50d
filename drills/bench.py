"""``beamdrill bench``: the world's throughput as a ratio to a bare-SimPy reference model
of the same flow, and its memory as the run grows, measured in one process.

The machines are shared and noisy, so the two models run in interleaved rounds and the
medians are compared; both run under the same garbage-collector settings.
"""

from __future__ import annotations

import gc
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Final, NamedTuple

from rich.console import Console

from drills.runs.files import EventLog
from drills.runs.wholetable import WholeTable
from simulator.kernel.gctune import tuned_gc
from simulator.reference import ReferenceModel
from simulator import load_scenario
from simulator.telemetry.metrics import MetricsRecorder
from simulator.telemetry.otlp import OtlpJsonlWriter
from simulator.telemetry.sampling import parse_sampling
from simulator.telemetry.spans import SpanRecorder
from simulator.world import World

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "partner-day.yaml"
HOUR = 3600.0


class Checkpoint(NamedTuple):
    """Memory of a world at one virtual time."""

    hour: float
    finished: int
    rows_held: int
    live_objects: int
    rss_mib: float


class WorldRun(NamedTuple):
    """One timed world run."""

    intents: int
    virtual_seconds: float
    wall: float
    failure_rate: float
    checkpoints: list[Checkpoint]
    conservation: list[str]


def _rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _run_world(intents: int, seed: int, checkpoints_every: float | None) -> WorldRun:
    world = World(load_scenario(SCENARIO), seed)
    checkpoints: list[Checkpoint] = []
    wall = 0.0
    with tuned_gc():
        while world.accepted("directory") < intents:
            started = time.perf_counter()
            world.env.run(until=world.env.now + HOUR)
            wall += time.perf_counter() - started
            if checkpoints_every and world.env.now % checkpoints_every == 0:
                buckets = world.summary().paths["directory"].buckets
                checkpoints.append(Checkpoint(world.env.now / HOUR, buckets["success"] + buckets["error"],
                                              world.rows_held(), len(gc.get_objects()), _rss_mib()))
    summary = world.summary()
    buckets = summary.paths["directory"].buckets
    failure_rate = buckets["error"] / max(1, buckets["success"] + buckets["error"])
    return WorldRun(world.accepted("directory"), world.env.now, wall, failure_rate, checkpoints,
                    summary.conservation)


def _run_reference(intents: int, rate: float, failure_rate: float, seed: int) -> float:
    reference = ReferenceModel(rate=rate, failure_rate=failure_rate, seed=seed)
    with tuned_gc():
        started = time.perf_counter()
        reference.run(intents)
        return time.perf_counter() - started


#: The telemetry runs the bench compares, in the order of each round: the untraced run,
#: then one sink each, as ``beamdrill run`` turns them on.
TELEMETRY_MODES: Final[tuple[str, ...]] = ("none", "events", "traces", "metrics")
_TELEMETRY_ROWS: Final[dict[str, tuple[str, str]]] = {
    "none": ("untraced", ""), "events": ("--events", "≤ 1.5"), "traces": ("--traces all", "≤ 2"),
    "metrics": ("--metrics", "≤ 1.1"),
}


class TelemetryRun(NamedTuple):
    """One timed telemetry run: wall and CPU seconds (the file written included), and intents."""

    wall: float
    cpu: float
    intents: int


def _telemetry_run(seed: int, hours: float, mode: str, scratch: Path) -> TelemetryRun:
    """One partner-day run of ``hours`` with telemetry ``mode`` (one of :data:`TELEMETRY_MODES`),
    its file written (``events.jsonl`` in ``scratch``, the others to a temporary file)."""
    world = World(load_scenario(SCENARIO), seed)
    recorder = MetricsRecorder(world) if mode == "metrics" else None
    with tuned_gc(), tempfile.TemporaryFile("w+", encoding="utf-8") as sink:
        started, cpu = time.perf_counter(), time.process_time()
        writer = OtlpJsonlWriter(sink, world.scenario.epoch_ns, {}) if mode == "traces" else None
        spans = SpanRecorder(world.seed, parse_sampling("all"), writer.add) if writer is not None else None
        if spans is not None:
            world.subscribe(spans)
        log = EventLog(scratch / "events.jsonl") if mode == "events" else None
        if log is not None:
            world.subscribe(log.sink)
        world.env.run(until=hours * HOUR)
        if recorder is not None:
            recorder.finish()
            recorder.write_openmetrics(sink, world.scenario.epoch.timestamp())
        if spans is not None and writer is not None:
            for views in spans.traces(until=world.now).views():
                writer.add(views)
            writer.close()
        if log is not None:
            log.close()
        return TelemetryRun(time.perf_counter() - started, time.process_time() - cpu, world.accepted("directory"))


def run_telemetry_bench(seed: int, console: Console, rounds: int = 3, hours: float = 6.0) -> dict[str, float]:
    """Cost of each telemetry sink (events, every intent traced to the OTLP file, metrics)
    as ratios to the untraced run, in interleaved rounds: of the median wall times, of the
    best wall times and of the best CPU times (the CPU time suffers least from other work
    on a shared machine). Returns ``{mode}_ratio``, ``{mode}_best_ratio`` and ``{mode}_cpu_ratio``."""
    runs: dict[str, list[TelemetryRun]] = {mode: [] for mode in TELEMETRY_MODES}
    intents = 0
    with tempfile.TemporaryDirectory(prefix="beamdrill-bench-") as scratch:
        for round_number in range(1, rounds + 1):
            for mode in TELEMETRY_MODES:
                run = _telemetry_run(seed, hours, mode, Path(scratch))
                runs[mode].append(run)
                intents = run.intents
            console.print(f"  telemetry round {round_number}/{rounds}: " + ", ".join(
                f"{mode} {values[-1].wall:.2f} s" for mode, values in runs.items()), highlight=False)

    def median_wall(mode: str) -> float:
        return statistics.median(run.wall for run in runs[mode])

    def best_wall(mode: str) -> float:
        return min(run.wall for run in runs[mode])

    def best_cpu(mode: str) -> float:
        return min(run.cpu for run in runs[mode])

    figures: dict[str, float] = {}
    table = WholeTable(title=f"telemetry cost: partner-day, first {hours:g} virtual hours ({intents:,} intents), "
                             f"{rounds} interleaved rounds; ratios to the untraced run")
    for column in ("run", "median wall s", "best wall s", "× median", "× best", "× best cpu", "goal"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for mode in TELEMETRY_MODES:
        figures[f"{mode}_ratio"] = median_wall(mode) / median_wall("none")
        figures[f"{mode}_best_ratio"] = best_wall(mode) / best_wall("none")
        figures[f"{mode}_cpu_ratio"] = best_cpu(mode) / best_cpu("none")
        label, goal = _TELEMETRY_ROWS[mode]
        table.add_row(label, f"{median_wall(mode):.2f}", f"{best_wall(mode):.2f}", f"{figures[f'{mode}_ratio']:.2f}",
                      f"{figures[f'{mode}_best_ratio']:.2f}", f"{figures[f'{mode}_cpu_ratio']:.2f}", goal)
    console.print(table)
    return figures


def run_bench(intents: int, seed: int, console: Console, rounds: int = 3) -> dict[str, float]:
    """Run partner-day to about ``intents`` relayed intents and the reference model on the
    same count, ``rounds`` times each, interleaved; print and return the medians."""
    world_walls: list[float] = []
    reference_walls: list[float] = []
    first: WorldRun | None = None
    for round_number in range(1, rounds + 1):
        run = _run_world(intents, seed, 6 * HOUR if first is None else None)
        first = first or run
        world_walls.append(run.wall)
        reference_walls.append(_run_reference(run.intents, run.intents / run.virtual_seconds,
                                              run.failure_rate, seed))
        console.print(f"  round {round_number}/{rounds}: world {run.wall:.2f} s, "
                      f"reference {reference_walls[-1]:.2f} s", highlight=False)
    assert first is not None
    world_speed = first.intents / statistics.median(world_walls)
    reference_speed = first.intents / statistics.median(reference_walls)
    ratio = world_speed / reference_speed

    table = WholeTable(title=f"beamdrill bench: partner-day, seed {seed}, median of {rounds} rounds")
    for column in ("model", "intents", "virtual h", "median wall s", "intents/s"):
        table.add_column(column, justify="left" if column == "model" else "right")
    table.add_row("world (partner-day)", f"{first.intents:,}", f"{first.virtual_seconds / HOUR:.0f}",
                  f"{statistics.median(world_walls):.2f}", f"{world_speed:,.0f}")
    table.add_row("bare-SimPy reference", f"{first.intents:,}", f"{first.virtual_seconds / HOUR:.0f}",
                  f"{statistics.median(reference_walls):.2f}", f"{reference_speed:,.0f}")
    console.print(table)
    console.print(f"throughput ratio world/reference: {ratio:.2f}x (target >= 0.5x)", highlight=False)

    memory = WholeTable(title="memory of the first world run (rows are forgotten 15 min after they finish)")
    for column in ("virtual h", "finished intents", "row refs held", "live objects", "rss MiB"):
        memory.add_column(column, justify="right")
    for point in first.checkpoints:
        memory.add_row(f"{point.hour:.0f}", f"{point.finished:,}", f"{point.rows_held:,}",
                       f"{point.live_objects:,}", f"{point.rss_mib:.1f}")
    console.print(memory)
    console.print(f"peak rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB", highlight=False)
    if first.conservation:
        console.print(f"conservation VIOLATED: {first.conservation}", style="bold red")
    return {"world_intents_per_s": world_speed, "reference_intents_per_s": reference_speed, "ratio": ratio}
