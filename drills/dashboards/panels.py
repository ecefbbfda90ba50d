"""What every beamdrill dashboard shares: the Prometheus datasource variable, the drill
annotations, and small builders for time-series and stat panels laid out two to a row.

A dashboard module describes its panels as :class:`PanelSpec` values; :func:`dashboard`
turns them into a ``grafana-foundation-sdk`` dashboard. A new dashboard (policies, canary)
is one more module with its specs, listed in :data:`drills.dashboards.generate.DASHBOARDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal, Sequence

from grafana_foundation_sdk.builders import dashboard as gdash
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.builders.common import StackingConfig, VizLegendOptions
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement, StackingMode

#: The datasource every panel and annotation reads: the dashboard variable ``datasource``.
DATASOURCE: Final = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
#: The uid of the datasource the provisioning files create (the variable's default).
PROVISIONED_UID: Final[str] = "beamdrill-prometheus"
#: Dashboards' tags, so they are found together.
TAGS: Final[list[str]] = ["beamdrill", "beam", "recovery-drill"]
#: A panel's width and height in grid units (24 across).
WIDTH, HEIGHT = 12, 8

PanelKind = Literal["timeseries", "stat", "state-timeline"]


@dataclass(frozen=True)
class Query:
    """One PromQL query of a panel and the legend of its series."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class PanelSpec:
    """A panel: its title, what it shows (description), its queries, unit and kind."""

    title: str
    description: str
    queries: Sequence[Query]
    unit: str = "short"
    kind: PanelKind = "timeseries"
    stacked: bool = False
    width: int = WIDTH


@dataclass(frozen=True)
class DashboardSpec:
    """A dashboard: uid (also its file name), title, description and panels; ``needs``
    names metric families only some runs export (the canary's, the retry policies'): a
    snapshot leaves the dashboard out of a run that exports none of them."""

    uid: str
    title: str
    description: str
    panels: Sequence[PanelSpec]
    variables: Sequence[Builder[model.VariableModel]] = field(default_factory=tuple)
    needs: Sequence[str] = ()


def or_zero(expr: str) -> str:
    """``expr``, or a single 0 when it has no series at all (a count that has not happened
    yet); ``on()`` makes any series of ``expr`` hide the 0."""
    return f"({expr}) or on() vector(0)"


def datasource_variable() -> gdash.DatasourceVariable:
    """The ``datasource`` variable: any Prometheus datasource, the provisioned one first."""
    return (gdash.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
            .current(model.VariableOption(selected=True, text="beamdrill", value=PROVISIONED_UID)))


def label_variable(name: str, label: str, metric: str) -> gdash.QueryVariable:
    """A multi-value variable over the values of ``label`` on ``metric`` (``All`` = ``.*``)."""
    return (gdash.QueryVariable(name).label(label).datasource(DATASOURCE)
            .query(f"label_values({metric}, {label})").refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True).include_all(True).all_value(".*")
            .current(model.VariableOption(selected=True, text="All", value="$__all")))


def drill_annotations() -> list[Builder[model.AnnotationQuery]]:
    """The drill's faults and operator steps (``beamdrill_drill_event``) as annotations."""
    return [gdash.AnnotationQuery().name("Faults").datasource(DATASOURCE).enable(True).icon_color("red")
            .expr('beamdrill_drill_event{kind="fault"} == 1'),
            gdash.AnnotationQuery().name("Operator steps").datasource(DATASOURCE).enable(True).icon_color("blue")
            .expr('beamdrill_drill_event{kind="step"} == 1')]


def _targets(queries: Sequence[Query]) -> list[Builder[Dataquery]]:
    return [prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").range()
            .ref_id(chr(ord("A") + index)).datasource(DATASOURCE) for index, query in enumerate(queries)]


def panel(spec: PanelSpec, x: int, y: int) -> Builder[model.Panel]:
    """The panel ``spec`` describes, at grid position (x, y)."""
    position = model.GridPos(h=HEIGHT, w=spec.width, x=x, y=y)
    if spec.kind == "stat":
        return (stat.Panel().title(spec.title).description(spec.description).datasource(DATASOURCE)
                .targets(_targets(spec.queries)).unit(spec.unit).grid_pos(position))
    if spec.kind == "state-timeline":
        return (statetimeline.Panel().title(spec.title).description(spec.description).datasource(DATASOURCE)
                .targets(_targets(spec.queries)).unit(spec.unit).grid_pos(position))
    series = (timeseries.Panel().title(spec.title).description(spec.description).datasource(DATASOURCE)
              .targets(_targets(spec.queries)).unit(spec.unit).axis_soft_min(0).grid_pos(position)
              .legend(VizLegendOptions().show_legend(True).display_mode(LegendDisplayMode.LIST)
                      .placement(LegendPlacement.BOTTOM)))
    if spec.stacked:
        series = series.stacking(StackingConfig().mode(StackingMode.NORMAL))
    return series


def dashboard(spec: DashboardSpec) -> gdash.Dashboard:
    """The dashboard ``spec`` describes: datasource variable first, then its own variables;
    the drill annotations; panels two to a row in the order given."""
    built = (gdash.Dashboard(spec.title).uid(spec.uid).description(spec.description).tags(TAGS)
             .time("now-1h", "now").timezone("utc").refresh("").tooltip(model.DashboardCursorSync.CROSSHAIR)
             .with_variable(datasource_variable()).annotations(drill_annotations()))
    for variable in spec.variables:
        built = built.with_variable(variable)
    x = y = 0
    for one in spec.panels:
        if x + one.width > 24:
            x, y = 0, y + HEIGHT
        built = built.with_panel(panel(one, x, y))
        x += one.width
    return built
