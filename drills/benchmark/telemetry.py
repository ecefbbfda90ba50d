"""Case (f): what each telemetry sink costs partner-day, as the ratio of its run's CPU
time to the untraced run's: ``--events`` (events.jsonl written), ``--traces all``
(every intent traced to traces.otlp.jsonl) and ``--metrics`` (metrics.om written). The
file is written inside the timed run, as ``beamdrill run`` writes it."""

from __future__ import annotations

import functools
import statistics
import tempfile
from pathlib import Path
from typing import Final, Literal

from drills.benchmark.modes import BenchConfig
from drills.benchmark.partnerday import SCENARIO
from drills.benchmark.rounds import Job, Sample, cpu_seconds
from drills.benchmark.table import Bound, Row, cost_ratio, row
from drills.benchmark.worlds import HOUR
from drills.runs.files import EventLog
from simulator import Scenario, load_scenario
from simulator.kernel.gctune import tuned_gc
from simulator.telemetry.recorder import MetricsRecorder
from simulator.telemetry.otlp import OtlpJsonlWriter
from simulator.telemetry.sampling import parse_sampling
from simulator.telemetry.spans import SpanRecorder
from simulator.world import World

Sink = Literal["none", "events", "traces", "metrics"]
#: Each sink's row: the flag that turns it on and the bound the performance issue wants.
SINKS: Final[dict[Sink, tuple[str, Bound]]] = {
    "events": ("--events", Bound(op="<=", value=1.5)),
    "traces": ("--traces all", Bound(op="<=", value=2.0)),
    "metrics": ("--metrics", Bound(op="<=", value=1.1)),
}


def job_name(sink: Sink) -> str:
    """The job of one sink's run (``none``: the untraced run the others are compared to)."""
    return "partner-day untraced" if sink == "none" else f"partner-day {SINKS[sink][0]}"


class TelemetryCase:
    """Each round runs partner-day's first ``config.telemetry_hours`` virtual hours four
    times: untraced, then with each sink on its own."""

    def __init__(self, config: BenchConfig, scenario: Scenario | None = None) -> None:
        self.config = config
        self.scenario = scenario or load_scenario(SCENARIO)
        self._scratch = tempfile.TemporaryDirectory(prefix="beamdrill-bench-")

    def close(self) -> None:
        """Remove the files the runs wrote."""
        self._scratch.cleanup()

    def jobs(self) -> list[Job]:
        """One job per sink, the untraced run first; none when the case is switched off."""
        if self.config.telemetry_hours <= 0:
            return []
        sinks: tuple[Sink, ...] = ("none", "events", "traces", "metrics")
        return [(job_name(sink), functools.partial(self._run, sink)) for sink in sinks]

    def _run(self, sink: Sink) -> Sample:
        world = World(self.scenario, self.config.seed)
        scratch = Path(self._scratch.name)
        with tuned_gc(), (scratch / "telemetry.out").open("w", encoding="utf-8") as out:
            started = cpu_seconds()
            log = EventLog(scratch / "events.jsonl") if sink == "events" else None
            writer = OtlpJsonlWriter(out, world.scenario.epoch_ns, {}) if sink == "traces" else None
            spans = SpanRecorder(world.seed, parse_sampling("all"), writer.add) if writer is not None else None
            metrics = MetricsRecorder(world) if sink == "metrics" else None
            if log is not None:
                world.subscribe(log.sink)
            if spans is not None:
                world.subscribe(spans)
            world.env.run(until=self.config.telemetry_hours * HOUR)
            if log is not None:
                log.close()
            if spans is not None and writer is not None:
                for views in spans.traces(until=world.now).views():
                    writer.add(views)
                writer.close()
            if metrics is not None:
                metrics.finish()
                metrics.write_openmetrics(out, world.scenario.epoch.timestamp())
            return Sample(cpu_seconds() - started, world.accepted("directory"))

    def rows(self, samples: dict[str, list[Sample]]) -> list[Row]:
        """One row per sink: its run's CPU time over the untraced run's, and in the note the
        CPU time it adds per intent (median rounds)."""
        if self.config.telemetry_hours <= 0:
            return []
        untraced = [s.seconds for s in samples[job_name("none")]]
        intents = samples[job_name("none")][0].units
        rows = []
        for sink, (flag, bound) in SINKS.items():
            traced = [s.seconds for s in samples[job_name(sink)]]
            added = (statistics.median(traced) - statistics.median(untraced)) / intents * 1e6
            rows.append(row("(f) telemetry", f"{flag}, cost over the untraced run", "×",
                            *cost_ratio(traced, untraced), len(untraced), bound,
                            note=f"partner-day's first {self.config.telemetry_hours:g} virtual h, {intents:,} "
                                 f"intents; the sink adds {added:,.1f} µs an intent (medians)"))
        return rows
