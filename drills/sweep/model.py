"""Sweep files: the pydantic schema of a sweep, and reading one with every problem on one line.

A sweep names the world (a scenario file, a drill, or a canary rollout), a factorial grid
of overrides (each axis a field path and the values it takes), the replications, which
measures to report, and how time to recover is judged. Paths are checked against the
world by :mod:`drills.sweep.grid`, which knows it.
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
#: A measure a rollout run reports (:mod:`drills.sweep.rollouts`).
RolloutMeasureName = Literal["caught_at_first_step", "failed", "inconclusive", "promoted", "rolled_back_within_limit",
                             "rollback_seconds", "blast_radius_intents"]
#: Every rollout measure, in the order tables and files list them.
ROLLOUT_MEASURES: Final[tuple[RolloutMeasureName, ...]] = get_args(RolloutMeasureName)
#: Any measure a sweep file may list (one literal, so a wrong name is one problem).
AnyMeasureName = Literal[MeasureName, RolloutMeasureName]
#: The rollout measures that are 0 or 1 per run: a cell reports their share of the runs
#: with Wilson's binomial interval instead of a t interval.
PROPORTIONS: Final[frozenset[str]] = frozenset({"caught_at_first_step", "failed", "inconclusive", "promoted",
                                                 "rolled_back_within_limit"})
#: The most cells times replications one sweep may ask for.
MAX_RUNS: Final[int] = 100_000
#: The built-in studies whose reports add a section of their own (:mod:`drills.sweep.studies`).
StudyName = Literal["retry-policies", "backoff-contention", "metastability", "judge-power"]
#: The special axis path that multiplies every traffic route's rate.
LOAD: Final[str] = "load"
#: The special axis path of a rollout sweep whose values are rollouts (built-in names or files).
ROLLOUT: Final[str] = "rollout"
#: The special axis path of a rollout sweep that sets the first canary step's weight (percent).
EXPOSURE: Final[str] = "exposure"


def _scenario_measures() -> list[AnyMeasureName]:
    """A sweep's measures by default (a rollout sweep's are set before validation)."""
    return [*MEASURES]


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

    Exactly one of ``scenario`` (a scenario file), ``drill`` (a drill file or a built-in
    drill's name: its world, overrides and faults, without its operator steps) and
    ``rollout`` (a rollout file or a built-in rollout's name, run as ``beamdrill canary``
    runs it) is given, relative to the sweep file; a grid axis of path ``rollout`` (its
    values rollouts) names the rollout too. A rollout sweep's axis paths lead into the
    rollout (``change.latency_factor``, ``steps[0].weight``, ``analysis.min_samples``) and,
    under ``scenario.``, into its scenario; ``exposure`` sets the first canary step's weight.
    Replication ``k`` runs with seed ``seed + k`` in every cell (default ``seed``: the
    rollout's, else the scenario's). ``duration`` replaces the world's run length (not for
    a rollout, whose steps say how long it runs). ``measures`` default to every measure of
    the world's kind (:data:`MEASURES`, or :data:`ROLLOUT_MEASURES` for a rollout).
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
    rollout: NonEmpty | None = None
    duration: PositiveDuration | None = None
    grid: Annotated[list[Axis], Field(min_length=1, max_length=10)]
    replications: Annotated[Count, Field(ge=1, le=1000)] = 3
    seed: Annotated[Count, Field(ge=0, le=MAX_SEED - 1000)] | None = None
    measures: list[AnyMeasureName] = Field(default_factory=lambda: _scenario_measures())
    x: NonEmpty | None = None
    compare: NonEmpty | None = None
    recovery: Recovery = Recovery()
    study: StudyName | None = None
    charts: bool = True

    @model_validator(mode="before")
    @classmethod
    def _rollout_measures_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and "measures" not in data and _names_a_rollout(data):
            return {**data, "measures": list(ROLLOUT_MEASURES)}
        return data

    @property
    def is_rollout(self) -> bool:
        """Whether the sweep runs a canary rollout (``rollout`` given, or a ``rollout`` axis)."""
        return self.rollout is not None or any(axis.path == ROLLOUT for axis in self.grid)

    def axis(self, label: str) -> Axis | None:
        """The axis with this name or path."""
        return next((axis for axis in self.grid if label in (axis.label, axis.path)), None)


def _names_a_rollout(data: dict[Any, Any]) -> bool:
    """Whether raw sweep data names a rollout, before validation."""
    grid = data.get("grid")
    return data.get("rollout") is not None or (isinstance(grid, list) and any(
        isinstance(axis, dict) and axis.get("path") == ROLLOUT for axis in grid))


def read_sweep(path: Path) -> SweepFile:
    """Read and validate a sweep YAML file's schema; raise :class:`SweepError`."""
    data = read_yaml_mapping(path, SweepError)
    try:
        return SweepFile.model_validate(data)
    except ValidationError as exc:
        raise SweepError(validation_problems(exc, str(path), SweepFile)) from None
