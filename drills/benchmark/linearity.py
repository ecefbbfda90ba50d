"""Case (d): the per-intent cost of a short run against a long one, on partner-day at a
constant rate (:func:`~drills.benchmark.generated.constant_rate`), so both carry the same
mix of traffic and only the length of the run differs. A run of a tenth of the long one,
past the warm-up a short run never leaves (no row is forgotten in its first 15 virtual
minutes), is shown beside them without a bound: how the cost per intent grows once the
world has warmed up."""

from __future__ import annotations

from typing import Final

from drills.benchmark.generated import constant_rate
from drills.benchmark.modes import BOUND_INTENTS, BenchConfig
from drills.benchmark.partnerday import SCENARIO
from drills.benchmark.rounds import Job, Sample
from drills.benchmark.table import Bound, Row, best_and_median, cost_ratio, row
from drills.benchmark.worlds import HOUR, run_world
from simulator import Scenario, load_scenario
from simulator.world import World

LINEARITY: Final[Bound] = Bound(op="<=", value=1.1)
#: The short runs' and the warm run's slices: each stops within ten minutes of virtual time of its count.
SHORT_STEP: Final[float] = 600.0
LONG_JOB: Final[str] = "constant-rate partner-day, long run"
SHORT_JOB: Final[str] = "constant-rate partner-day, short runs"
WARM_JOB: Final[str] = "constant-rate partner-day, a tenth of the long run"


class LinearityCase:
    """Each round runs the constant-rate world to ``config.intents``, then to
    ``config.small_intents`` ``short_repeats`` times (so the short runs take about a tenth
    of the long one and their time is not lost in the noise), then to a tenth of
    ``config.intents``."""

    def __init__(self, config: BenchConfig, scenario: Scenario | None = None) -> None:
        self.config = config
        self.scenario = constant_rate(scenario or load_scenario(SCENARIO))
        self.short_repeats = max(1, config.intents // config.small_intents // 10)

    def jobs(self) -> list[Job]:
        """The long run, the short runs, then the run of a tenth of the long one."""
        return [(LONG_JOB, self._long), (SHORT_JOB, self._short), (WARM_JOB, self._warm)]

    @property
    def warm_intents(self) -> int:
        """The intents of the run past warm-up: a tenth of the long run's."""
        return max(1, self.config.intents // 10)

    def _long(self) -> Sample:
        return run_world(World(self.scenario, self.config.seed), self.config.intents, HOUR).sample

    def _warm(self) -> Sample:
        return run_world(World(self.scenario, self.config.seed), self.warm_intents, SHORT_STEP).sample

    def _short(self) -> Sample:
        seconds, intents = 0.0, 0
        for _ in range(self.short_repeats):
            sample = run_world(World(self.scenario, self.config.seed), self.config.small_intents, SHORT_STEP).sample
            seconds, intents = seconds + sample.seconds, intents + sample.units
        return Sample(seconds, intents)

    def rows(self, samples: dict[str, list[Sample]]) -> list[Row]:
        """The short and the long run's per-intent cost and the long over the short (the
        bound); then the run past warm-up's cost and the long over it (no bound)."""
        long = [s.cost for s in samples[LONG_JOB]]
        short = [s.cost for s in samples[SHORT_JOB]]
        warm = [s.cost for s in samples[WARM_JOB]]
        judged = self.config.judges_long_runs
        case = "(d) linearity"
        short_best, short_median = best_and_median(short)
        long_best, long_median = best_and_median(long)
        warm_best, warm_median = best_and_median(warm)
        return [
            row(case, f"per-intent µs, to {self.config.small_intents:,} intents", "µs", short_best * 1e6,
                short_median * 1e6, len(short),
                note=f"{samples[SHORT_JOB][0].units // self.short_repeats:,} intents × {self.short_repeats} a round"),
            row(case, f"per-intent µs, to {self.config.intents:,} intents", "µs", long_best * 1e6, long_median * 1e6,
                len(long), note=f"{samples[LONG_JOB][0].units:,} intents"),
            row(case, f"ratio {self.config.intents:,} / {self.config.small_intents:,} intents", "×",
                *cost_ratio(long, short), len(long), LINEARITY, judged,
                note="partner-day at its mean rate" if judged else f"the bound is about {BOUND_INTENTS:,} intents"),
            row(case, f"per-intent µs, to {self.warm_intents:,} intents", "µs", warm_best * 1e6, warm_median * 1e6,
                len(warm), note=f"{samples[WARM_JOB][0].units:,} intents"),
            row(case, f"ratio {self.config.intents:,} / {self.warm_intents:,} intents (no bound)", "×",
                *cost_ratio(long, warm), len(long), note="both past the warm-up"),
        ]
