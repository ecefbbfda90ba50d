"""Taking a snapshot: every panel of every dashboard queried and drawn, the pages written
(into a staging directory that replaces ``--out`` whole), and the drill's report linked."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

from drills.prometheus.api import PromAPI
from drills.prometheus.run import RunMetrics
from drills.proofpack.report import DASHBOARDS_HEADING, dashboards_section
from drills.runs.files import atomic_write_text
from drills.runs.resultdir import ResultDirectory
from drills.snapshot.board import Board, generated_boards
from drills.snapshot.page import RunInfo, dashboard_page, index_page
from drills.snapshot.query import PanelData, query_marks, query_panel, query_step, variables

#: The page every snapshot opens on, and the name of the events strip in each dashboard's folder.
INDEX = "index.html"
EVENTS_IMAGE = "drill-events.png"


@dataclass
class Snapshot:
    """What a snapshot wrote: its directory, its pages, how many panels, and which returned no data."""

    out: Path
    pages: list[Path] = field(default_factory=list)
    panels: int = 0
    empty: list[str] = field(default_factory=list)


def slug(title: str) -> str:
    """A panel title as a file name: lower case, words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "panel"


def take_snapshot(api: PromAPI, metrics: RunMetrics, out: Path, boards: Sequence[Board] | None = None) -> Snapshot:
    """Query and draw every panel of ``boards`` (the generated dashboards the run has series for by default) over
    the run in ``metrics`` from the Prometheus at ``api``; write ``out`` (replacing what was
    there) and link the run's report.md to it."""
    boards = list(boards) if boards is not None else generated_boards(metrics.path)
    directory = ResultDirectory(out)
    staging = directory.staging
    from drills.snapshot.plot import render_marks, render_panel  # Matplotlib is slow to import, so here

    snapshot = Snapshot(out)
    step = query_step(metrics.duration)
    info = RunInfo(run=str(metrics.run), start=metrics.start, end=metrics.end, prometheus=api.base, step=step,
                   variables={})
    try:
        for board in boards:
            (staging / board.uid).mkdir()
            marks = query_marks(api, board, metrics)
            render_marks(marks, metrics, staging / board.uid / EVENTS_IMAGE)
            drawn: list[tuple[PanelData, str]] = []
            for number, panel in enumerate(board.panels, start=1):
                data = query_panel(api, board, panel, metrics)
                image = f"{board.uid}/{number:02d}-{slug(panel.title)}.png"
                render_panel(data, marks, metrics, staging / image)
                drawn.append((data, image))
                snapshot.panels += 1
                if not data.has_data:
                    snapshot.empty.append(f"dashboard {board.title!r}, panel {panel.title!r}")
            page_info = replace(info, variables=variables(board, step, metrics.duration))
            atomic_write_text(staging / f"{board.uid}.html",
                              dashboard_page(board, boards, drawn, marks, f"{board.uid}/{EVENTS_IMAGE}", page_info))
            snapshot.pages.append(out / f"{board.uid}.html")
        atomic_write_text(staging / INDEX, index_page(boards, snapshot.empty, info))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    directory.publish()
    link_report(metrics.run, out / INDEX)
    return snapshot


def link_report(run: Path, index: Path) -> bool:
    """Point the dashboards section of ``run/report.md`` (a drill's proof pack) at ``index``;
    whether there was such a section to update."""
    report = run / "report.md"
    if not report.is_file():
        return False
    text = report.read_text(encoding="utf-8")
    start = text.find(f"\n{DASHBOARDS_HEADING}\n")
    if start < 0:
        return False
    end = text.find("\n## ", start + 1)
    end = len(text) if end < 0 else end
    link = Path(os.path.relpath(index.resolve(), run.resolve())).as_posix()
    section = "\n".join(dashboards_section(link)) + "\n"
    atomic_write_text(report, text[:start + 1] + section + text[end:])
    return True
