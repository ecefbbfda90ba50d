"""What a bench run reports: the table of cases with the conditions it was measured in
(:class:`BenchReport`, what ``--json`` prints), and how the console shows it."""

from __future__ import annotations

import os
import platform
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from drills.benchmark.table import Row
from drills.benchmark.worlds import Checkpoint
from drills.runs.wholetable import WholeTable
from simulator import world_build

LoadAverage = tuple[float, float, float]


class Conditions(BaseModel):
    """When and on what the figures were measured: the date, the machine's 1, 5 and 15
    minute load averages when the bench started and when it ended, its CPUs, Python, and
    whether the world's hot modules ran compiled (:func:`simulator.world_build`)."""

    model_config = ConfigDict(frozen=True)

    date: date
    load_at_start: LoadAverage
    load_at_end: LoadAverage
    cpus: int
    python: str
    world: str

    @classmethod
    def now(cls, load_at_start: LoadAverage) -> "Conditions":
        """The conditions at the end of a run that started under ``load_at_start``."""
        return cls(date=date.today(), load_at_start=load_at_start, load_at_end=os.getloadavg(),
                   cpus=os.cpu_count() or 1, python=platform.python_version(), world=world_build())


class BenchReport(BaseModel):
    """A bench run: its mode and rounds, the table, the first partner-day run's memory
    checkpoints and conservation problems."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["full", "quick"]
    seed: int
    rounds: int
    clock: Literal["process CPU time"] = "process CPU time"
    conditions: Conditions
    rows: list[Row]
    checkpoints: list[Checkpoint]
    conservation: list[str]


def format_figure(value: float, unit: str) -> str:
    """A figure as the table prints it, to the precision its unit deserves."""
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "intents/s":
        return f"{value:,.0f}"
    if unit == "µs":
        return f"{value:,.1f} µs"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    return f"{value:g} {unit}"


def cases_table(report: BenchReport) -> WholeTable:
    """The table of every case, with its wanted bound and verdict."""
    table = WholeTable(title=f"beamdrill bench ({report.mode}): seed {report.seed}, {report.rounds} interleaved "
                             f"rounds, {report.clock}")
    for column in ("case", "figure", "best", "median", "wanted", "verdict", "run"):
        table.add_column(column, justify="right" if column in ("best", "median", "wanted") else "left")
    for entry in report.rows:
        table.add_row(entry.case, entry.figure, format_figure(entry.best, entry.unit),
                      format_figure(entry.median, entry.unit),
                      entry.bound.text(entry.unit) if entry.bound is not None else "",
                      entry.verdict or "", entry.note)
    return table


def memory_table(checkpoints: list[Checkpoint]) -> WholeTable:
    """The first partner-day run's memory every 6 virtual hours."""
    table = WholeTable(title="memory of the first partner-day run (rows are forgotten 15 min after they finish)")
    for column in ("virtual h", "finished intents", "row refs held", "live objects", "rss MiB"):
        table.add_column(column, justify="right")
    for point in checkpoints:
        table.add_row(f"{point.hour:.0f}", f"{point.finished:,}", f"{point.rows_held:,}",
                      f"{point.live_objects:,}", f"{point.rss_mib:.1f}")
    return table


def conditions_line(conditions: Conditions) -> str:
    """One line: the date, the load averages at start and end, CPUs, Python and the world's build."""
    start, end = conditions.load_at_start, conditions.load_at_end
    return (f"measured {conditions.date.isoformat()} on {conditions.cpus} CPUs, Python {conditions.python}; "
            f"load average {start[0]:.2f} {start[1]:.2f} {start[2]:.2f} at the start, "
            f"{end[0]:.2f} {end[1]:.2f} {end[2]:.2f} at the end; world {conditions.world}")
