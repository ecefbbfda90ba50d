"""Case (c): loading a generated 10,000-agent scenario file with :func:`simulator.load_scenario`
and building its :class:`~simulator.world.World`, timed apart."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Final

from drills.benchmark.generated import ring_scenario, scenario_yaml
from drills.benchmark.modes import BenchConfig
from drills.benchmark.rounds import Job, Sample, cpu_seconds
from drills.benchmark.table import Bound, Row, best_and_median, row
from simulator import Scenario, load_scenario
from simulator.world import World

LOADING: Final[Bound] = Bound(op="<=", value=2.0)
LOAD_JOB: Final[str] = "load_scenario"
BUILD_JOB: Final[str] = "World build"


class LoadingCase:
    """Writes the ring of ``config.load_agents`` agents to a file in a temporary directory
    when first loaded (untimed; removed by :meth:`close`); each round loads it, then builds
    a world from what it loaded."""

    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self._directory = tempfile.TemporaryDirectory(prefix="beamdrill-bench-")
        self.path = Path(self._directory.name) / f"ring-{config.load_agents}.yaml"
        self.size = 0
        self._loaded: Scenario | None = None

    def close(self) -> None:
        """Remove the scenario file."""
        self._directory.cleanup()

    def jobs(self) -> list[Job]:
        """Load, then build."""
        return [(LOAD_JOB, self._load), (BUILD_JOB, self._build)]

    def _load(self) -> Sample:
        if not self.size:
            self.path.write_text(scenario_yaml(ring_scenario(self.config.load_agents)), encoding="utf-8")
            self.size = self.path.stat().st_size
        started = cpu_seconds()
        self._loaded = load_scenario(self.path)
        return Sample(cpu_seconds() - started, 1)

    def _build(self) -> Sample:
        scenario, self._loaded = self._loaded, None
        if scenario is None:
            raise RuntimeError("the build runs after a load, on what it loaded")
        started = cpu_seconds()
        World(scenario, self.config.seed)
        return Sample(cpu_seconds() - started, 1)

    def rows(self, samples: dict[str, list[Sample]]) -> list[Row]:
        """The load, the build, and their sum against the bound (per round, then best and median)."""
        load = [s.seconds for s in samples[LOAD_JOB]]
        build = [s.seconds for s in samples[BUILD_JOB]]
        total = [a + b for a, b in zip(load, build)]
        agents = f"{self.config.load_agents:,} agents"
        case = "(c) scenario load"
        return [
            row(case, f"load_scenario, {agents}", "s", *best_and_median(load), len(load),
                note=f"{self.size / 2**20:.1f} MiB of YAML"),
            row(case, f"World(...) build, {agents}", "s", *best_and_median(build), len(build)),
            row(case, "load + build", "s", *best_and_median(total), len(total), LOADING),
        ]
