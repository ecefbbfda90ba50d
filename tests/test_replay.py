"""Every built-in drill replays byte for byte: ``beamdrill drill run --all`` in two separate
processes, with different hash seeds and working directories, writes the same files with
the same bytes (events, journals, reports, charts, the summary)."""

from __future__ import annotations

from pathlib import Path

from drills.drillfile.builtin import builtin_drills


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_drill_run_all_replays_byte_for_byte_across_processes(drill_runs: tuple[Path, Path]) -> None:
    first, second = (_files(out) for out in drill_runs)
    drills = [path.stem for path in builtin_drills()]
    assert sorted({name.split("/")[0] for name in first} - {"summary.json"}) == sorted(drills)
    for drill in drills:
        assert {f"{drill}/{name}" for name in ("journal.json", "report.md", "chart.png", "events.jsonl",
                                               "result.json")} <= set(first)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []
