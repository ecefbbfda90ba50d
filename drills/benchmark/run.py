"""A bench run: every case's jobs in interleaved rounds, then the table they make."""

from __future__ import annotations

import os

from drills.benchmark.linearity import LinearityCase
from drills.benchmark.loading import LoadingCase
from drills.benchmark.modes import BenchConfig
from drills.benchmark.partnerday import PartnerDayCases
from drills.benchmark.report import BenchReport, Conditions
from drills.benchmark.rounds import Progress, run_rounds
from drills.benchmark.scaling import ScalingCase


def run_cases(config: BenchConfig, progress: Progress | None = None) -> BenchReport:
    """Run cases (a) to (e) in ``config.rounds`` interleaved rounds and return the report
    (without telemetry costs). Partner-day's long run is the first job, so the peak memory
    read after it is that run's."""
    load_at_start = os.getloadavg()
    partner_day = PartnerDayCases(config)
    linearity = LinearityCase(config, partner_day.scenario)
    scaling = ScalingCase(config)
    loading = LoadingCase(config)
    try:
        samples = run_rounds([*partner_day.jobs(), *linearity.jobs(), *scaling.jobs(), *loading.jobs()],
                             config.rounds, progress)
    finally:
        loading.close()
    rows = sorted([*partner_day.rows(samples), *linearity.rows(samples), *scaling.rows(samples),
                   *loading.rows(samples)], key=lambda entry: entry.case)
    return BenchReport(mode=config.mode, seed=config.seed, rounds=config.rounds,
                       conditions=Conditions.now(load_at_start), rows=rows,
                       checkpoints=partner_day.checkpoints, conservation=partner_day.conservation)
