"""The part of Grafana's dashboard JSON a snapshot reads: panels and their queries, units,
layout, the template variables and the annotation queries."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from drills.dashboards.generate import DASHBOARDS, dashboard_json


class _Read(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Target(_Read):
    """One query of a panel and its legend format (``{{label}}``, ``__auto``)."""

    expr: str
    legend_format: str = Field("", alias="legendFormat")
    ref_id: str = Field("A", alias="refId")


class Stacking(_Read):
    """How a time series panel stacks its series (``none`` or ``normal``)."""

    mode: str = "none"


class Custom(_Read):
    """A panel's visualisation-specific field options."""

    stacking: Stacking = Stacking()


class Defaults(_Read):
    """A panel's field defaults: its unit and options."""

    unit: str = "short"
    custom: Custom = Custom()


class FieldConfig(_Read):
    """A panel's field configuration."""

    defaults: Defaults = Defaults()


class GridPos(_Read):
    """Where a panel sits on the 24-column grid."""

    h: int
    w: int
    x: int
    y: int


class Panel(_Read):
    """A panel: its kind (``timeseries``, ``stat``, ``state-timeline``; a snapshot draws any
    other kind as a time series), title, description, place and queries."""

    type: str
    title: str
    description: str = ""
    grid_pos: GridPos = Field(alias="gridPos")
    targets: list[Target]
    field_config: FieldConfig = Field(FieldConfig(), alias="fieldConfig")

    @property
    def unit(self) -> str:
        """The panel's unit (Grafana's id: ``short``, ``s``, ``reqps``...)."""
        return self.field_config.defaults.unit

    @property
    def stacked(self) -> bool:
        """Whether the panel stacks its series."""
        return self.field_config.defaults.custom.stacking.mode != "none"


class VariableCurrent(_Read):
    """A variable's selected value(s)."""

    value: str | list[str] = ""


class Variable(_Read):
    """A template variable: its name, type, selection and the value ``All`` stands for."""

    name: str
    type: str
    current: VariableCurrent = VariableCurrent()
    all_value: str | None = Field(None, alias="allValue")


class Templating(_Read):
    """A dashboard's template variables."""

    variables: list[Variable] = Field(default_factory=list, alias="list")


class AnnotationQuery(_Read):
    """An annotation query: its name, PromQL and colour."""

    name: str
    expr: str = ""
    icon_color: str = Field("red", alias="iconColor")
    enable: bool = True


class Annotations(_Read):
    """A dashboard's annotation queries."""

    queries: list[AnnotationQuery] = Field(default_factory=list, alias="list")


class Board(_Read):
    """A dashboard: uid, title, description, panels, variables and annotations."""

    uid: str
    title: str
    description: str = ""
    panels: list[Panel]
    templating: Templating = Templating()
    annotations: Annotations = Annotations()


def generated_boards(metrics: Path | None = None) -> list[Board]:
    """Every dashboard ``beamdrill dashboards`` generates (the committed JSON), in the README's
    order; with a run's ``metrics``, only those whose series it exports (the canary dashboard
    needs a ``beamdrill canary`` run, the policies dashboard a retry budget, a circuit
    breaker or client retries)."""
    text = metrics.read_text(encoding="utf-8") if metrics is not None else ""
    return [Board.model_validate(json.loads(dashboard_json(spec))) for spec in DASHBOARDS
            if metrics is None or not spec.needs or any(f"# TYPE {need} " in text for need in spec.needs)]
