"""Cases on partner-day: (a) the world's intents/s against the bare-SimPy reference on the
same routes and rates, and (e) the peak memory of the first long run."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from drills.benchmark.modes import BOUND_INTENTS, BenchConfig
from drills.benchmark.rounds import Job, Sample, cpu_seconds
from drills.benchmark.table import Bound, Row, best_and_median, cost_ratio, row
from drills.benchmark.worlds import HOUR, Checkpoint, WorldRun, peak_rss_mib, rss_mib, run_world
from simulator import Scenario, load_scenario
from simulator.kernel.gctune import tuned_gc
from simulator.reference import ReferenceModel, reference_flow
from simulator.world import World

SCENARIO: Final[Path] = Path(__file__).resolve().parent.parent / "scenarios" / "partner-day.yaml"
THROUGHPUT: Final[Bound] = Bound(op=">=", value=0.5)
MEMORY: Final[Bound] = Bound(op="<=", value=300.0)
WORLD_JOB: Final[str] = "partner-day world"
REFERENCE_JOB: Final[str] = "bare-SimPy reference"


class PartnerDayCases:
    """The jobs and rows of cases (a) and (e).

    Each round runs the world to ``config.intents``, then the reference on that run's
    intents, mean rate and failure share. The first world run records memory checkpoints
    every 6 virtual hours and the process's peak memory right after it, so it must be the
    bench's first job.
    """

    def __init__(self, config: BenchConfig, scenario: Scenario | None = None) -> None:
        self.config = config
        self.scenario = scenario or load_scenario(SCENARIO)
        self.first: WorldRun | None = None
        self.peak_rss_mib: float | None = None
        #: The process's resident memory when the first world run started (imports, scenario).
        self.rss_before_mib: float | None = None
        self._last: WorldRun | None = None

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The first world run's memory checkpoints."""
        return self.first.checkpoints if self.first is not None else []

    @property
    def conservation(self) -> list[str]:
        """Conservation problems at the end of the first world run (none expected)."""
        return self.first.conservation if self.first is not None else []

    def jobs(self) -> list[Job]:
        """The two jobs of a round, in order."""
        return [(WORLD_JOB, self._world), (REFERENCE_JOB, self._reference)]

    def _world(self) -> Sample:
        if self.first is None:
            self.rss_before_mib = rss_mib()
        run = run_world(World(self.scenario, self.config.seed), self.config.intents, HOUR,
                        6 * HOUR if self.first is None else None)
        if self.first is None:
            self.first, self.peak_rss_mib = run, peak_rss_mib()
        self._last = run
        return run.sample

    def _reference(self) -> Sample:
        run = self._last
        if run is None:
            raise RuntimeError("the reference runs after a world run, on its intents and rate")
        flow = reference_flow(self.scenario, run.sample.units / run.virtual_seconds, run.failure_rate)
        model = ReferenceModel(flow, self.config.seed)
        with tuned_gc():
            started = cpu_seconds()
            model.run(run.sample.units)
            return Sample(cpu_seconds() - started, model.sent)

    def rows(self, samples: dict[str, list[Sample]]) -> list[Row]:
        """Rows of cases (a) and (e) from the rounds' samples."""
        world = [s.cost for s in samples[WORLD_JOB]]
        reference = [s.cost for s in samples[REFERENCE_JOB]]
        rounds = len(world)
        world_best, world_median = best_and_median(world)
        reference_best, reference_median = best_and_median(reference)
        failure = self._last.failure_rate if self._last is not None else 0.0
        case = "(a) throughput"
        rows = [
            row(case, "world intents/s, partner-day bare run", "intents/s", 1 / world_best, 1 / world_median,
                rounds, note=f"{samples[WORLD_JOB][0].units:,} intents, no telemetry"),
            row(case, "reference intents/s, same routes and rates", "intents/s", 1 / reference_best,
                1 / reference_median, rounds, note=f"failure share {failure:.2%}, as the world's"),
            row(case, "world / reference intents/s", "×", *cost_ratio(reference, world), rounds, THROUGHPUT),
        ]
        if self.peak_rss_mib is not None:
            judged = self.config.judges_long_runs
            rows.append(row("(e) memory", f"peak RSS, partner-day to {self.config.intents:,} intents", "MiB",
                            self.peak_rss_mib, self.peak_rss_mib, 1, MEMORY, judged,
                            note=f"15-min retention; the whole process, after its first job{self._before()}"
                            if judged else f"the bound is about {BOUND_INTENTS:,} intents"))
        return rows

    def _before(self) -> str:
        """What the process held before the run, which the peak includes."""
        if self.rss_before_mib is None:
            return ""
        return f", which held {self.rss_before_mib:.0f} MiB before it (imports and scenario)"
