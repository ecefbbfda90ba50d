"""``beamdrill dashboards snapshot RUN_DIR``: every panel of every generated dashboard
queried from a real Prometheus over a drill and drawn, one PNG per panel and one HTML page
per dashboard; the drill's report links it; a headless browser loads every image of every
page. Plus the pieces: template variables, legends, units, steps and annotation runs."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

import matplotlib.image
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import beamdrill
from drills.snapshot.board import Board, generated_boards
from drills.snapshot.query import (MAX_POINTS, SCRAPE_INTERVAL_S, SnapshotError, _segments, legend, query_step,
                                   resolve, variables)
from drills.snapshot.take import slug
from drills.snapshot.units import format_value
from promserver import require_prometheus

#: What the drill's report says before a snapshot exists, and once one does.
HOW_TO = ("## Dashboards\n\nNo snapshot yet. `beamdrill dashboards snapshot DIR` (DIR: this report's directory) "
          "draws every dashboard over this drill from a real Prometheus into `dashboards/` and links it here; "
          "`beamdrill prometheus DIR` serves the drill to a Grafana instead.\n\n## Traces")
LINKED = ("## Dashboards\n\n[The dashboards over this drill](dashboards/index.html) (`beamdrill dashboards "
          "snapshot`: every panel's queries run against a real Prometheus, one PNG per panel and a page per "
          "dashboard).\n\n## Traces")
#: How long the headless browser may take per page.
BROWSER_TIMEOUT_S = 120


class Taken(NamedTuple):
    """recovery-drill's directory, its report before the snapshot, and the snapshot command's output."""

    run: Path
    report_before: str
    stdout: str
    stderr: str
    code: int


@pytest.fixture(scope="module")
def taken(tmp_path_factory: pytest.TempPathFactory) -> Taken:
    """recovery-drill run, then ``beamdrill dashboards snapshot`` on it with a Prometheus of its own."""
    require_prometheus()
    out = tmp_path_factory.mktemp("snapshot") / "runs"
    done = beamdrill("drill", "run", "recovery-drill", "--out", out)
    assert done.returncode == 0, done.stderr
    run = out / "recovery-drill"
    before = (run / "report.md").read_text()
    snapped = beamdrill("dashboards", "snapshot", run)
    return Taken(run, before, snapped.stdout, snapped.stderr, snapped.returncode)


def panel_images(board: Board) -> list[str]:
    """The PNGs a snapshot draws for ``board``, relative to its directory."""
    return [f"{board.uid}/{number:02d}-{slug(panel.title)}.png" for number, panel in enumerate(board.panels, 1)]


def test_every_panel_of_every_dashboard_is_drawn_with_data(taken: Taken) -> None:
    out = taken.run / "dashboards"
    assert (taken.code, taken.stderr) == (0, "")
    boards = generated_boards(taken.run / "metrics.om")
    panels = sum(len(board.panels) for board in boards)
    assert taken.stdout == (f"snapshot of {len(boards)} dashboards ({panels} panels, every one with data) in "
                            f"{out}: open {out / 'index.html'}\n")
    expected = {"index.html", *(f"{board.uid}.html" for board in boards),
                *(f"{board.uid}/drill-events.png" for board in boards),
                *(image for board in boards for image in panel_images(board))}
    assert {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()} == expected
    assert (len(boards), panels) >= (5, 27)
    for board in boards:
        for image, panel in zip(panel_images(board), board.panels):
            height, width, _ = matplotlib.image.imread(out / image).shape
            assert (width, height) == (1400 if panel.grid_pos.w == 24 else 700, 320), image
    assert not list(taken.run.glob(".dashboards.*")), "the staging directory was left behind"


class Page(HTMLParser):
    """A snapshot page's image sources, panel titles and event table rows."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[str] = []
        self.titles: list[str] = []
        self.rows: list[list[str]] = []
        self._tag = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag == "tr":
            self.rows.append([])

    def handle_data(self, data: str) -> None:
        if self._tag == "h2" and data.strip():
            self.titles.append(data.strip())
        if self._tag == "td":
            self.rows[-1].append(data)

    def handle_endtag(self, tag: str) -> None:
        self._tag = ""


def test_each_page_lays_out_its_panels_and_lists_the_drills_events(taken: Taken) -> None:
    out = taken.run / "dashboards"
    for board in generated_boards(taken.run / "metrics.om"):
        page = Page((out / f"{board.uid}.html").read_text())
        assert page.images == [f"{board.uid}/drill-events.png", *panel_images(board)]
        assert page.titles == ["Faults (shaded red) and operator steps (blue dashes)",
                               *(panel.title for panel in board.panels)]
        assert [row for row in page.rows if row] == [
            ["08:00:00 (+0:00)", "Faults", "finance slow", "until 08:02:00 (+2:00)"],
            ["08:00:10 (+0:10)", "Operator steps", "send"],
            ["08:00:20 (+0:20)", "Faults", "bus restart", "until 08:01:20 (+1:20)"],
            ["08:02:50 (+2:50)", "Faults", "warehouse slow", "until 08:03:50 (+3:50)"],
            ["08:03:00 (+3:00)", "Operator steps", "send"],
            ["08:03:05 (+3:05)", "Faults", "directory restart", "until 08:04:05 (+4:05)"]]
    index = (out / "index.html").read_text()
    assert re.findall(r'<a href="([^"]+)">', index) == [f"{board.uid}.html"
                                                        for board in generated_boards(taken.run / "metrics.om")]
    assert "<p>Every panel returned data.</p>" in index


def test_the_drills_report_says_how_to_make_a_snapshot_then_links_it(taken: Taken) -> None:
    assert HOW_TO in taken.report_before
    report = (taken.run / "report.md").read_text()
    assert LINKED in report
    assert report.replace(LINKED, HOW_TO) == taken.report_before


# -- a real browser ------------------------------------------------------------------------


def chromium() -> str:
    """Debian's chromium; skip without it (fail when BEAMDRILL_REQUIRE_CHROMIUM is set)."""
    found = shutil.which("chromium")
    if found is None:
        reason = "chromium is not installed (Debian: apt-get install -y chromium; .ci/run does this)"
        if os.environ.get("BEAMDRILL_REQUIRE_CHROMIUM"):
            pytest.fail(reason + ", but BEAMDRILL_REQUIRE_CHROMIUM is set")
        pytest.skip(reason)
    return found


def images_loaded(page: Path) -> tuple[int, int]:
    """(images on ``page``, images that loaded) as headless Chromium reports them once the page has loaded."""
    done = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                           page.resolve().as_uri()], capture_output=True, text=True, timeout=BROWSER_TIMEOUT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r'<body data-panels="\d+" data-images="(\d+)" data-images-loaded="(\d+)">', done.stdout)
    assert body is not None, done.stdout[:2000]
    return int(body.group(1)), int(body.group(2))


def test_a_browser_loads_every_panel_of_every_page(taken: Taken) -> None:
    out = taken.run / "dashboards"
    for board in generated_boards(taken.run / "metrics.om"):
        assert images_loaded(out / f"{board.uid}.html") == (len(board.panels) + 1,) * 2, board.uid


def test_the_browser_check_sees_a_missing_panel(taken: Taken, tmp_path: Path) -> None:
    copy = tmp_path / "dashboards"
    shutil.copytree(taken.run / "dashboards", copy)
    board = generated_boards(taken.run / "metrics.om")[0]
    (copy / panel_images(board)[2]).unlink()
    assert images_loaded(copy / f"{board.uid}.html") == (len(board.panels) + 1, len(board.panels))


# -- bad input -----------------------------------------------------------------------------


def test_a_missing_run_directory_is_bad_input(tmp_path: Path) -> None:
    done = beamdrill("dashboards", "snapshot", tmp_path / "nowhere")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{tmp_path / 'nowhere'}: RUN_DIR: expected a run directory, found nothing there\n"


def test_an_out_that_is_a_file_is_bad_input(taken: Taken, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    done = beamdrill("dashboards", "snapshot", taken.run, "--out", tmp_path / "file")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{tmp_path / 'file'}: --out: expected a directory, found a file\n"


def test_a_prometheus_that_does_not_answer_is_bad_input(taken: Taken, tmp_path: Path) -> None:
    done = beamdrill("dashboards", "snapshot", taken.run, "--out", tmp_path / "x", "--prometheus",
                     "http://127.0.0.1:9")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "(command line): --prometheus: expected a Prometheus answering at http://127.0.0.1:9, " \
                          "found none\n"
    assert not (tmp_path / "x").exists()


def test_no_prometheus_installed_is_one_line(taken: Taken, tmp_path: Path) -> None:
    done = beamdrill("dashboards", "snapshot", taken.run, "--out", tmp_path / "x", env={"PATH": str(tmp_path)})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("(system): prometheus: prometheus and promtool not installed "
                           "(Debian: apt-get install -y --no-install-recommends prometheus)\n")


def test_generating_still_takes_out_without_a_subcommand(tmp_path: Path) -> None:
    done = beamdrill("dashboards", "--out", tmp_path / "grafana")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"wrote 11 files under {tmp_path / 'grafana'}\n", "")


# -- the pieces ----------------------------------------------------------------------------


def test_variables_resolve_as_grafana_resolves_them() -> None:
    delivery = generated_boards()[0]
    assert variables(delivery, 15.0, 360.0) == {"__interval": "15s", "__rate_interval": "60s", "__range": "360s",
                                                "path": ".*"}
    assert variables(delivery, 45.0, 86_400.5)["__rate_interval"] == "60s"
    assert variables(delivery, 60.0, 86_400.5)["__rate_interval"] == "75s"
    assert resolve('rate(x{path=~"$path"}[$__rate_interval]) + ${path}', {"path": ".*", "__rate_interval": "1m"},
                   "here") == 'rate(x{path=~".*"}[1m]) + .*'
    with pytest.raises(SnapshotError, match=r"^dashboard 'D', panel 'P': unknown template variable \$tenant in "):
        resolve('x{tenant=~"$tenant"}', {}, "dashboard 'D', panel 'P'")


def test_a_selection_of_several_values_is_a_regex_alternation() -> None:
    board = generated_boards()[0].model_copy(deep=True)
    board.templating.variables[1].current.value = ["bus", "directory"]
    assert variables(board, 15.0, 60.0)["path"] == "(bus|directory)"
    board.templating.variables[1].current.value = "bus"
    assert variables(board, 15.0, 60.0)["path"] == "bus"


def test_legends_fill_labels_like_grafana() -> None:
    assert legend("{{path}} {{state}}", {"path": "bus", "state": "queued"}, "e") == "bus queued"
    assert legend("{{alert_id}} ({{severity}})", {}, "e") == "value"
    assert legend("__auto", {"__name__": "up", "job": "x"}, "e") == 'up{job="x"}'
    assert legend("", {}, "vector(0)") == "vector(0)"


def test_values_are_written_in_the_panels_unit() -> None:
    assert [format_value(value, "short") for value in (0, 3, 2.5, 1500, 2_000_000, math.nan)] == \
        ["0", "3", "2.5", "1.5 k", "2 M", "–"]
    assert [format_value(value, "s") for value in (0, 0.25, 7.5, 300, 10_800)] == \
        ["0 s", "250 ms", "7.5 s", "5 min", "3 h"]
    assert (format_value(0.5, "reqps"), format_value(0.25, "percentunit")) == ("0.5/s", "25%")


@given(st.floats(min_value=1.0, max_value=400 * 86_400.0))
def test_a_query_step_keeps_every_series_within_the_point_limit(duration: float) -> None:
    step = query_step(duration)
    assert step % SCRAPE_INTERVAL_S == 0 and step >= SCRAPE_INTERVAL_S
    assert duration / step <= MAX_POINTS


@given(st.lists(st.integers(min_value=0, max_value=500), unique=True).map(sorted),
       st.integers(min_value=1, max_value=20))
def test_annotation_runs_cover_every_sample_once_and_split_at_gaps(times: list[int], step: int) -> None:
    runs = _segments([float(time) for time in times], float(step))
    covered = [time for time in times if any(first <= time <= last for first, last in runs)]
    assert covered == times
    assert all(later[0] - earlier[1] > step for earlier, later in zip(runs, runs[1:]))
    assert all(first <= last for first, last in runs)
    assert sum(1 for time in times if any(time == first for first, _ in runs)) == len(runs)
