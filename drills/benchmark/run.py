"""A bench run: every case's jobs in interleaved rounds, then the table they make."""

from __future__ import annotations

import os

from drills.benchmark.linearity import LinearityCase
from drills.benchmark.loading import LoadingCase
from drills.benchmark.modes import BenchConfig
from drills.benchmark.partnerday import PartnerDayCases
from drills.benchmark.report import BenchReport, Conditions
from drills.benchmark.rounds import Case, Progress, run_rounds
from drills.benchmark.scaling import ScalingCase
from drills.benchmark.telemetry import TelemetryCase


def run_cases(config: BenchConfig, progress: Progress | None = None) -> BenchReport:
    """Run cases (a) to (f) in ``config.rounds`` interleaved rounds and return the report.
    Partner-day's long run is the first job, so the peak memory read after it is that run's."""
    load_at_start = os.getloadavg()
    partner_day = PartnerDayCases(config)
    linearity = LinearityCase(config, partner_day.scenario)
    scaling = ScalingCase(config)
    loading = LoadingCase(config)
    telemetry = TelemetryCase(config, partner_day.scenario)
    cases: tuple[Case, ...] = (partner_day, linearity, scaling, loading, telemetry)
    try:
        samples = run_rounds([job for case in cases for job in case.jobs()], config.rounds, progress)
    finally:
        loading.close()
        telemetry.close()
    rows = sorted([row for case in cases for row in case.rows(samples)], key=lambda entry: entry.case)
    return BenchReport(mode=config.mode, seed=config.seed, rounds=config.rounds,
                       conditions=Conditions.now(load_at_start), rows=rows,
                       checkpoints=partner_day.checkpoints, conservation=partner_day.conservation)
