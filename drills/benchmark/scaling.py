"""Case (b): the per-intent cost as the number of agents grows, on generated rings with one
route per agent and one ACL row per route, the same total rate and the same intents."""

from __future__ import annotations

from typing import Final

from drills.benchmark.generated import ring_scenario
from drills.benchmark.modes import BenchConfig
from drills.benchmark.rounds import Job, Sample
from drills.benchmark.table import Bound, Row, best_and_median, cost_ratio, row
from drills.benchmark.worlds import run_world
from simulator.world import World

SCALING: Final[Bound] = Bound(op="<=", value=2.0)
#: Slices of a ring's run: at 10 intents/s, about 6,000 intents each.
STEP: Final[float] = 600.0


def job_name(agents: int) -> str:
    """The job that runs the ring of ``agents`` agents."""
    return f"ring of {agents:,} agents"


class ScalingCase:
    """One job per ring size; rows: the per-intent cost at each size and the ratio of the
    largest to the smallest. Each job generates its ring and builds its world (untimed),
    then times the run; nothing is held between jobs."""

    def __init__(self, config: BenchConfig) -> None:
        if len(config.scaling_sizes) < 2 or len(set(config.scaling_sizes)) != len(config.scaling_sizes):
            raise ValueError(f"expected at least two different ring sizes, found {config.scaling_sizes}")
        self.config = config

    def jobs(self) -> list[Job]:
        """One job per ring size, in the configured order."""
        return [(job_name(size), _RingRun(size, self.config.scaling_intents, self.config.seed))
                for size in self.config.scaling_sizes]

    def rows(self, samples: dict[str, list[Sample]]) -> list[Row]:
        """A row per size, then the ratio of the largest ring's cost to the smallest's."""
        costs = {size: [s.cost for s in samples[job_name(size)]] for size in self.config.scaling_sizes}
        rows: list[Row] = []
        for size, values in costs.items():
            best, median = best_and_median(values)
            rows.append(row("(b) agent scaling", f"per-intent µs, {size:,} agents", "µs", best * 1e6, median * 1e6,
                            len(values), note=f"{samples[job_name(size)][0].units:,} intents"))
        smallest, largest = min(costs), max(costs)
        best, median = cost_ratio(costs[largest], costs[smallest])
        rows.append(row("(b) agent scaling", f"ratio {largest:,} / {smallest:,} agents", "×", best, median,
                        len(costs[largest]), SCALING))
        return rows


class _RingRun:
    """A job: generate the ring, build its world, run it to the intents, return the run's sample."""

    def __init__(self, agents: int, intents: int, seed: int) -> None:
        self.agents, self.intents, self.seed = agents, intents, seed

    def __call__(self) -> Sample:
        return run_world(World(ring_scenario(self.agents), self.seed), self.intents, STEP).sample
