"""The proof pack's chart: which faults are windows and which are instant markers, which
alert fired when, which panels are drawn for given samples, the figure's axes, labels and
ticks, and the same bytes for the same run; then two built-in drills end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import drills.executor.execute as execute
import drills.proofpack.chart as proofpack_chart
from drills.drillfile.builtin import CATALOG
from drills.drillfile.loader import load_drill
from drills.proofpack.alertspans import AlertSpan, alert_ids, alert_spans
from drills.proofpack.chart import ChartContent, chart_figure, render_chart
from drills.proofpack.faultlog import FaultEntry, FaultMarker, FaultTimeline, FaultWindow, clock, fault_timeline
from drills.proofpack.panels import Series, count_panels
from drills.proofpack.samples import Sample
from simulator import parse_scenario

AGENT = "finance@acme.beam.directory"


def sample(time: float, directory: dict[str, int] | None = None, bus: dict[str, int] | None = None,
           alerts: dict[str, str] | None = None, errors: dict[str, int] | None = None,
           shield: dict[str, int] | None = None) -> Sample:
    """A sample at ``time``; what is not given is empty."""
    return Sample(time, directory or {}, bus or {}, alerts or {}, errors or {}, shield or {})


def entry(time: float, event: str, fault: int, name: str, instant: bool = False) -> FaultEntry:
    """Fault number ``fault`` starts (``event`` "start") or ends at ``time``."""
    return FaultEntry(time, "fault_start" if event == "start" else "fault_end", fault, name, instant)


# -- faults: windows and instant markers ----------------------------------------------------------


def test_faults_that_last_are_windows_and_instant_faults_are_markers():
    log = [entry(0, "start", 0, "finance slow"), entry(20, "start", 1, "bus restart", instant=True),
           entry(20, "end", 1, "bus restart", instant=True), entry(120, "end", 0, "finance slow"),
           entry(185, "start", 3, "directory restart", instant=True), entry(200, "start", 2, "acl removed"),
           entry(187, "end", 3, "directory restart", instant=True)]
    assert fault_timeline(log, end=360) == FaultTimeline(
        windows=(FaultWindow(0, 120, "finance slow", ended=True), FaultWindow(200, 360, "acl removed", ended=False)),
        markers=(FaultMarker(20, "bus restart"), FaultMarker(185, "directory restart", back=187)))


def test_an_instant_fault_without_its_end_is_still_a_marker_and_an_empty_window_is_one_too():
    log = [entry(30, "start", 0, "bus restart", instant=True), entry(60, "start", 1, "finance offline"),
           entry(60, "end", 1, "finance offline"), entry(90, "end", 7, "never started")]
    assert fault_timeline(log, end=100) == FaultTimeline(
        markers=(FaultMarker(30, "bus restart"), FaultMarker(60, "finance offline")))


def test_faults_with_the_same_name_pair_by_their_index():
    log = [entry(10, "start", 0, "bus_restart", instant=True), entry(10, "end", 0, "bus_restart", instant=True),
           entry(50, "start", 1, "bus_restart", instant=True), entry(50, "end", 1, "bus_restart", instant=True)]
    assert fault_timeline(log, end=60).markers == (FaultMarker(10, "bus_restart"), FaultMarker(50, "bus_restart"))


@pytest.mark.parametrize("seconds, shown", [(0, "0s"), (20, "20s"), (17.5, "17.5s"), (185, "3m05s"), (240, "4m"),
                                            (3725, "1h02m05s"), (7200, "2h"), (3660, "1h01m")])
def test_clock(seconds: float, shown: str):
    assert clock(seconds) == shown


def test_fault_labels_and_caption_say_when():
    timeline = FaultTimeline(windows=(FaultWindow(0, 240, "finance offline", ended=True),
                                      FaultWindow(60, 1200, "finance accepts only", ended=False)),
                             markers=(FaultMarker(20, "bus restart"), FaultMarker(185, "directory restart", back=187)))
    assert [fault.label for fault in timeline.in_order()] == [
        "finance offline, 0s–4m", "bus restart at 20s", "finance accepts only, from 1m (not ended)",
        "directory restart at 3m05s, back at 3m07s"]
    assert timeline.caption == ("Shaded: finance offline, 0s–4m; finance accepts only, from 1m (not ended). "
                                "Dashed: bus restart at 20s; directory restart at 3m05s, back at 3m07s.")
    assert FaultTimeline().caption == "No fault."


def test_a_fault_entry_is_named_by_its_name_or_its_kind_and_target():
    faults = parse_scenario({"name": "t", "agents": [{"id": AGENT}], "faults": [
        {"kind": "bus_restart", "at": 5}, {"kind": "agent_disconnect", "agent": AGENT, "duration": 10},
        {"name": "dir down", "kind": "directory_restart", "downtime": 2}]}).faults
    assert [FaultEntry.of(1.0, "fault_start", index, spec) for index, spec in enumerate(faults)] == [
        FaultEntry(1.0, "fault_start", 0, "bus_restart", True),
        FaultEntry(1.0, "fault_start", 1, f"agent_disconnect {AGENT}", False),
        FaultEntry(1.0, "fault_start", 2, "dir down", True)]
    assert FaultEntry.of(2.0, "fault_end", 0, faults[0]).event == "fault_end"


# -- alerts: a span per id and severity ----------------------------------------------------------


def test_alert_spans_per_id_from_first_seen_to_first_not_seen():
    samples = [sample(0), sample(10, alerts={"latency": "critical"}),
               sample(20, alerts={"latency": "critical", "hotspot": "warning"}),
               sample(30, alerts={"hotspot": "critical", "error-rate": "critical"}),
               sample(40, alerts={"hotspot": "critical", "error-rate": "critical"}),
               sample(50, alerts={"latency": "warning"})]
    assert alert_spans(samples) == [
        AlertSpan("latency", 10, 30, "critical"), AlertSpan("latency", 50, 50, "warning"),
        AlertSpan("hotspot", 20, 30, "warning"), AlertSpan("hotspot", 30, 50, "critical"),
        AlertSpan("error-rate", 30, 50, "critical")]
    assert alert_ids(alert_spans(samples)) == ["latency", "hotspot", "error-rate"]


def test_no_alert_no_span():
    assert alert_spans([sample(0), sample(10)]) == [] and alert_spans([]) == []


# -- which panels are drawn ----------------------------------------------------------------------


def test_only_panels_with_something_to_show_are_drawn_and_the_others_are_named():
    samples = [sample(0, directory={"received": 1}), sample(60, directory={"acked": 1}),
               sample(120, directory={"acked": 1}, bus={"dead_letter": 0}, shield={"pass": 1, "hold": 0, "reject": 0})]
    content = ChartContent.of(samples, [])
    assert [panel.key for panel in content.panels] == ["directory"]
    assert content.panels[0].series == (Series("in_flight", (1, 0, 0)), Series("acked", (0, 1, 1)),
                                        Series("failed", (0, 0, 0)))
    assert content.quiet == ("bus", "errors", "shield", "alerts")
    assert content.note == ("left out, zero through the run: bus intents, directory errors, Shield holds and rejects, "
                            "alerts")
    assert content.title("clean (seed 7)") == "clean (seed 7)"


def test_error_codes_and_shield_decisions_get_a_line_each_when_they_occur():
    samples = [sample(0, shield={"pass": 3, "hold": 0, "reject": 0}),
               sample(30, errors={"RATE_LIMITED": 2}, shield={"pass": 3, "hold": 0, "reject": 2}),
               sample(60, errors={"OFFLINE": 1, "RATE_LIMITED": 5}, shield={"pass": 4, "hold": 0, "reject": 5})]
    panels = {panel.key: panel for panel in count_panels(samples)}
    assert panels["errors"].series == (Series("OFFLINE", (0, 0, 1)), Series("RATE_LIMITED", (0, 2, 5)))
    assert panels["shield"].series == (Series("reject", (0, 2, 5)),)  # pass is not drawn, hold never happened
    assert panels["bus"].empty and panels["directory"].empty
    assert [panel.key for panel in ChartContent.of(samples, []).panels] == ["errors", "shield"]


def test_the_title_says_shaded_only_with_windows_and_dashed_only_with_markers():
    samples = [sample(0, directory={"acked": 1}), sample(100, directory={"acked": 1})]
    window = [entry(0, "start", 0, "finance offline"), entry(50, "end", 0, "finance offline")]
    restart = [entry(20, "start", 1, "bus restart", instant=True), entry(20, "end", 1, "bus restart", instant=True)]
    assert ChartContent.of(samples, []).title("d") == "d"
    assert ChartContent.of(samples, window).title("d") == "d; shaded: fault windows"
    assert ChartContent.of(samples, restart).title("d") == "d; dashed: instant faults"
    assert ChartContent.of(samples, window + restart).title("d") == "d; shaded: fault windows; dashed: instant faults"


# -- the figure ----------------------------------------------------------------------------------


def incident() -> tuple[list[Sample], list[FaultEntry]]:
    """Five minutes every 15 s: an ack every 30 s, a TIMEOUT failure every minute, the
    error-rate alert critical from 2 min; finance slow until 100 s, a bus restart at 150 s."""
    samples = [sample(t, directory={"acked": t // 30, "failed": t // 60}, errors={"TIMEOUT": t // 60},
                      alerts={"error-rate": "critical"} if t >= 120 else {}) for t in range(0, 301, 15)]
    log = [entry(0, "start", 0, "finance slow"), entry(100, "end", 0, "finance slow"),
           entry(150, "start", 1, "bus restart", instant=True), entry(150, "end", 1, "bus restart", instant=True)]
    return samples, log


def test_the_figure_has_one_axes_per_panel_with_integer_count_ticks_and_a_legend_of_faults():
    samples, log = incident()
    figure = chart_figure(ChartContent.of(samples, log), samples, "drill (seed 1)")
    axes = figure.axes
    assert [axis.get_ylabel() for axis in axes] == ["directory intents", "directory errors", "alerts"]
    for axis in axes[:2]:
        ticks = [tick for tick in axis.get_yticks() if axis.get_ylim()[0] <= tick <= axis.get_ylim()[1]]
        assert ticks and all(float(tick).is_integer() for tick in ticks)
    assert [label.get_text() for label in axes[0].get_legend().get_texts()] == ["in_flight (0)", "acked (10)",
                                                                                "failed (5)"]
    assert [label.get_text() for label in axes[1].get_legend().get_texts()] == ["TIMEOUT (5)"]
    assert [label.get_text() for label in axes[2].get_yticklabels()] == ["error-rate"]
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == [
        "alert critical", "finance slow, 0s–1m40s", "bus restart at 2m30s"]
    assert axes[0].get_xlim() == (0.0, 5.0)
    assert figure.get_suptitle() == "drill (seed 1); shaded: fault windows; dashed: instant faults"


def test_the_same_run_renders_the_same_bytes(tmp_path: Path):
    samples, log = incident()
    render_chart(samples, log, tmp_path / "a" / "chart.png", "drill (seed 1)")
    render_chart(list(samples), list(log), tmp_path / "b" / "chart.png", "drill (seed 1)")
    first = (tmp_path / "a" / "chart.png").read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == (tmp_path / "b" / "chart.png").read_bytes()
    assert b"Software" not in first and b"matplotlib" not in first


def test_a_drill_that_sampled_nothing_still_gets_a_chart(tmp_path: Path):
    render_chart([], [], tmp_path / "chart.png", "failed (seed 1)")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ChartContent.of([], []).quiet == ("directory", "bus", "errors", "shield", "alerts")


# -- built-in drills end to end ------------------------------------------------------------------


def charted(name: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ChartContent, list[Sample]]:
    """Run built-in drill ``name`` and return what its chart showed."""
    seen: dict[str, Any] = {}
    original = proofpack_chart.render_chart

    def keep(samples: list[Sample], log: list[FaultEntry], path: Path, title: str) -> None:
        seen.update(content=ChartContent.of(samples, log), samples=samples)
        original(samples, log, path, title)

    monkeypatch.setattr(proofpack_chart, "render_chart", keep)  # the executor imports it when it draws
    execute.run_drill(load_drill(CATALOG / f"{name}.yaml"), out)
    return seen["content"], seen["samples"]


def test_fm5_shows_the_rate_limiting_and_shield(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    content, samples = charted("fm5-rate-limit-shield", tmp_path, monkeypatch)
    panels = {panel.key: panel for panel in content.panels}
    assert [(line.label, line.values[-1]) for line in panels["errors"].series] == [("RATE_LIMITED", 25)]
    assert ("reject", 25) in [(line.label, line.values[-1]) for line in panels["shield"].series]
    assert [(span.alert_id, span.severity, span.end) for span in content.alerts] == [
        ("shield-review-load", "critical", 180.0)]
    assert content.faults == FaultTimeline() and content.title("fm5") == "fm5"
    assert samples[-1].errors["RATE_LIMITED"] == 25


def test_recovery_drill_marks_its_restarts_and_its_report_says_when(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch):
    content, _ = charted("recovery-drill", tmp_path, monkeypatch)
    assert content.faults == FaultTimeline(
        windows=(FaultWindow(0, 120, "finance slow", ended=True), FaultWindow(170, 230, "warehouse slow", ended=True)),
        markers=(FaultMarker(20, "bus restart"), FaultMarker(185, "directory restart", back=187)))
    report = (tmp_path / "report.md").read_text()
    assert "Dashed: bus restart at 20s; directory restart at 3m05s, back at 3m07s." in report
    starts = report.index("fault starts: bus restart")
    assert starts < report.index("fault ends: bus restart")
    assert "fault ends: directory restart" in report
