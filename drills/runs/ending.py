"""The end of a run that did not complete, on the command line: say on stderr what stopped
it and where the files it wrote are, and give the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

from drills.runs.runner import RunReport


def unfinished_exit_code(report: RunReport, reached: str, out: Path) -> int | None:
    """For a run interrupted by a signal (128 + its number) or failed (1): print on stderr
    what stopped it, at ``reached`` (e.g. ``t=90s of 600s``), and where its files are in
    ``out``, and return the exit code. None for a completed run, which prints nothing."""
    if report.interrupted is not None:
        print(f"interrupted by {report.interrupted.name} at {reached}; every file is written up to then in {out}",
              file=sys.stderr)
        return report.interrupted.exit_code
    if report.failure is not None:
        print(f"run failed: {report.failure}; partial results are in {out / 'result.json'}", file=sys.stderr)
        return 1
    return None
