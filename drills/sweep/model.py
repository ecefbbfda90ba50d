"""Sweep files: the pydantic schema of a sweep, and reading one with every problem on one line.

A sweep names the world (a scenario file or a drill), a factorial grid of overrides (each
axis a scenario field path and the values it takes), the replications, which measures to
report, and how time to recover is judged. Paths are checked against the scenario by
:mod:`drills.sweep.grid`, which knows the scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import Field, ValidationError, model_validator

from simulator.kernel.fields import Count, Model, NonEmpty
from simulator.kernel.problems import InputError, validation_problems
from simulator.kernel.units import PositiveDuration
from simulator.kernel.yamlfile import read_yaml_mapping
from simulator.scenario.model import MAX_SEED

#: A measure a run reports.
MeasureName = Literal["goodput", "latency_p50", "latency_p95", "latency_p99", "dead_letters", "attempts_per_intent",
                      "peak_queue_depth", "time_to_recover", "recovered", "completion_time", "lost", "duplicated",
                      "unexpected", "recovered_deliveries"]
#: Every measure, in the order tables and files list them.
MEASURES: Final[tuple[MeasureName, ...]] = get_args(MeasureName)
#: The most cells times replications one sweep may ask for.
MAX_RUNS: Final[int] = 100_000
#: The built-in studies whose reports add a section of their own (:mod:`drills.sweep.studies`).
StudyName = Literal["retry-policies", "backoff-contention", "metastability"]
#: The special axis path that multiplies every traffic route's rate.
LOAD: Final[str] = "load"


class SweepError(InputError):
    """A sweep file failed to load or validate."""


class Axis(Model):
    """One dimension of the grid: a scenario field path and the values it takes.

    ``path`` is dotted with list indexes (``bus.max_retries``, ``agents[2].failure_rate``,
    ``faults[0].duration``, ``traffic.routes[0].rate``), ``[*]`` for every item of a list
    (``agents[*].failure_rate``), or ``load``: a factor on every traffic route's rate.
    ``name`` is the column header (default: the path); ``labels``, one per value, are how
    tables and charts show the values (default: the values themselves, mappings as JSON).
    """

    path: NonEmpty
    values: Annotated[list[Any], Field(min_length=1, max_length=1000)]
    name: NonEmpty | None = None
    labels: list[NonEmpty] | None = None

    @model_validator(mode="after")
    def _one_label_per_value(self) -> "Axis":
        if self.labels is not None and len(self.labels) != len(self.values):
            raise ValueError(f"expected one label per value ({len(self.values)}), found {len(self.labels)}")
        return self

    def text(self, value: Any) -> str:
        """How tables and charts show ``value``, one of this axis's values."""
        if self.labels is not None:
            for candidate, label in zip(self.values, self.labels):
                if candidate == value:
                    return label
        if isinstance(value, (dict, list)):
            return json.dumps(value, separators=(",", ":"))
        return str(value)

    @property
    def label(self) -> str:
        """The axis's name in tables, files and charts."""
        return self.name or self.path


class Recovery(Model):
    """How time to recover is judged: goodput over a sliding ``window`` after the last
    fault ends must come back to at least ``1 - tolerance`` of the pre-fault goodput."""

    window: PositiveDuration = 60.0
    tolerance: Annotated[float, Field(gt=0, lt=1)] = 0.1


class SweepFile(Model):
    """A sweep: the world, the grid, the replications and what to report.

    Exactly one of ``scenario`` (a scenario file) and ``drill`` (a drill file or a built-in
    drill's name: its world, overrides and faults, without its operator steps) is given,
    relative to the sweep file. Replication ``k`` runs with seed ``seed + k`` in every
    cell (default ``seed``: the scenario's). ``duration`` replaces the world's run length.
    ``x`` is the axis charts plot measures against (default: the ``load`` axis, else the
    first); ``compare`` the axis whose levels are compared pairwise (default: the last
    axis other than ``x``). ``study`` names a built-in study whose report adds its own
    section (its axes are named as the study expects: :mod:`drills.sweep.studies`);
    ``charts: false`` skips the per-measure charts (for a study that draws its own).
    """

    name: NonEmpty
    description: str = ""
    scenario: NonEmpty | None = None
    drill: NonEmpty | None = None
    duration: PositiveDuration | None = None
    grid: Annotated[list[Axis], Field(min_length=1, max_length=10)]
    replications: Annotated[Count, Field(ge=1, le=1000)] = 3
    seed: Annotated[Count, Field(ge=0, le=MAX_SEED - 1000)] | None = None
    measures: list[MeasureName] = Field(default_factory=lambda: list(MEASURES))
    x: NonEmpty | None = None
    compare: NonEmpty | None = None
    recovery: Recovery = Recovery()
    study: StudyName | None = None
    charts: bool = True

    def axis(self, label: str) -> Axis | None:
        """The axis with this name or path."""
        return next((axis for axis in self.grid if label in (axis.label, axis.path)), None)


def read_sweep(path: Path) -> SweepFile:
    """Read and validate a sweep YAML file's schema; raise :class:`SweepError`."""
    data = read_yaml_mapping(path, SweepError)
    try:
        return SweepFile.model_validate(data)
    except ValidationError as exc:
        raise SweepError(validation_problems(exc, str(path), SweepFile)) from None
