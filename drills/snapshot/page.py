"""The HTML pages of a snapshot: one per dashboard, its panels laid out on Grafana's
24-column grid with titles, descriptions and the queries as run, opened by the drill's
events; and an index of the dashboards. Each page records on ``<body>`` how many of its
images loaded (``data-images``, ``data-images-loaded``), so a browser can check it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Final, Sequence

from drills.snapshot.board import Board
from drills.snapshot.query import Mark, PanelData

STYLE: Final[str] = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px 20px; background: #f4f5f5;
       color: #222; max-width: 1480px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 15px; margin: 0 0 6px; }
header p { margin: 2px 0; color: #444; } nav { margin: 8px 0 14px; } nav > * { margin-right: 16px; }
code { font-size: 12px; background: #eceeef; padding: 0 3px; border-radius: 3px; }
.grid { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr)); gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid #d8d9da; border-radius: 4px; padding: 10px; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: #555; margin-top: 4px; }
details { margin-top: 4px; } summary { cursor: pointer; color: #1f60c4; }
.nodata h2::after { content: " (no data)"; color: #c4162a; font-weight: normal; }
.events { margin-bottom: 12px; }
table { border-collapse: collapse; font-size: 12px; } td, th { padding: 1px 10px 1px 0; text-align: left; }
"""
#: Records how many images loaded once the page has (a browser check reads it).
SCRIPT: Final[str] = """
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  document.body.dataset.images = images.length;
  document.body.dataset.imagesLoaded = images.filter((image) => image.complete && image.naturalWidth > 0).length;
});
"""


@dataclass(frozen=True)
class RunInfo:
    """What a page says about the run and the queries: the run directory, its time range
    (Unix seconds), the Prometheus queried, the step and the variables' values."""

    run: str
    start: float
    end: float
    prometheus: str
    step: float
    variables: dict[str, str]


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _clock(seconds: float, start: float) -> str:
    offset = round(seconds - start)
    return f"{_utc(seconds)[11:]} (+{offset // 60}:{offset % 60:02d})"


def _head(title: str) -> list[str]:
    return ["<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f"<title>{escape(title)}</title>", f"<style>{STYLE}</style>", "</head>"]


def _run_line(info: RunInfo) -> str:
    chosen = ", ".join(f"{name} = <code>{escape(value)}</code>" for name, value in info.variables.items()
                       if not name.startswith("__"))
    return (f"<p>Run <code>{escape(info.run)}</code>, {_utc(info.start)} to {_utc(info.end)} UTC (the run's "
            f"clock); queried from {escape(info.prometheus)} every {info.step:g} s"
            + (f"; variables: {chosen}" if chosen else "") + ".</p>")


def _nav(boards: Sequence[Board], current: str | None) -> str:
    links = ['<a href="index.html">All dashboards</a>'] + [
        f"<b>{escape(board.title)}</b>" if board.uid == current else
        f'<a href="{escape(board.uid)}.html">{escape(board.title)}</a>' for board in boards]
    return f"<nav>{''.join(links)}</nav>"


def _marks_table(marks: Sequence[Mark], start: float) -> list[str]:
    if not marks:
        return ["<p>No faults or operator steps in this run.</p>"]
    rows = [f"<tr><td>{_clock(mark.start, start)}</td><td>{escape(mark.kind)}</td><td>{escape(mark.name)}</td>"
            + (f"<td>until {_clock(mark.end, start)}</td>" if not mark.instant else "<td></td>") + "</tr>"
            for mark in marks]
    return ["<details><summary>every event</summary><table>",
            "<tr><th>time (UTC, +min:s)</th><th>annotation</th><th>name</th><th></th></tr>", *rows,
            "</table></details>"]


def dashboard_page(board: Board, boards: Sequence[Board], panels: Sequence[tuple[PanelData, str]],
                   marks: Sequence[Mark], marks_image: str, info: RunInfo) -> str:
    """``board``'s page: its panels (each with the PNG at its relative path), the drill's events strip."""
    lines = _head(f"{board.title} · {info.run}") + [f'<body data-panels="{len(panels)}">', "<header>",
                                                    f"<h1>{escape(board.title)}</h1>",
                                                    f"<p>{escape(board.description)}</p>", _run_line(info),
                                                    _nav(boards, board.uid), "</header>"]
    lines += ['<figure class="events">', "<h2>Faults (shaded red) and operator steps (blue dashes)</h2>",
              f'<img src="{escape(marks_image)}" alt="the drill\'s faults and operator steps over time">',
              *_marks_table(marks, info.start), "</figure>", '<main class="grid">']
    for data, image in sorted(panels, key=lambda found: (found[0].panel.grid_pos.y, found[0].panel.grid_pos.x)):
        panel = data.panel
        place = f"grid-column: {panel.grid_pos.x + 1} / span {panel.grid_pos.w}"
        queries = "".join(f"<div><code>{escape(query)}</code></div>" for query in data.queries)
        lines += [f'<figure class="panel{"" if data.has_data else " nodata"}" style="{place}">',
                  f"<h2>{escape(panel.title)}</h2>",
                  f'<img src="{escape(image)}" alt="{escape(panel.title)}">',
                  f"<figcaption>{escape(panel.description)}",
                  f"<details><summary>queries</summary>{queries}</details></figcaption>", "</figure>"]
    lines += ["</main>", f"<script>{SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(lines) + "\n"


def index_page(boards: Sequence[Board], empty: Sequence[str], info: RunInfo) -> str:
    """The snapshot's index: every dashboard with its description and panel count, and the
    panels that returned no data (if any)."""
    lines = _head(f"Dashboards · {info.run}") + ['<body data-panels="0">', "<header>",
                                                 "<h1>beamdrill dashboards</h1>", _run_line(info),
                                                 "</header>", "<ul>"]
    lines += [f'<li><a href="{escape(board.uid)}.html">{escape(board.title)}</a> ({len(board.panels)} panels): '
              f"{escape(board.description)}</li>" for board in boards]
    lines += ["</ul>"]
    if empty:
        lines += ["<h2>Panels without data</h2>", "<ul>", *(f"<li>{escape(line)}</li>" for line in empty), "</ul>"]
    else:
        lines += ["<p>Every panel returned data.</p>"]
    lines += [f"<script>{SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(lines) + "\n"
