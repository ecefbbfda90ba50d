"""Golden digests: what the world writes is pinned by SHA-256, so speed work cannot change
behaviour unnoticed. Pinned: every built-in drill's ``events.jsonl`` and ``audit.jsonl``
(from the two ``drill run --all`` processes of :mod:`test_replay`), and the first hour of
``partner-day`` (seed 1) with every sink on: ``events.jsonl``, ``traces.otlp.jsonl``,
``metrics.om`` and ``audit.jsonl``.

A commit that changes behaviour on purpose regenerates the digests and says so::

    .venv/bin/python tests/test_golden.py --update
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).with_name("golden.json")
BEAMDRILL = Path(sys.executable).parent / "beamdrill"
DRILL_FILES = ("events.jsonl", "audit.jsonl")
PARTNER_HOUR_FILES = ("events.jsonl", "traces.otlp.jsonl", "metrics.om", "audit.jsonl")


def digests(root: Path, names: tuple[str, ...]) -> dict[str, str]:
    """SHA-256 of each file called one of ``names`` under ``root``, keyed by relative path."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file() and path.name in names}


def run_partner_hour(out: Path, native: str | None = None) -> dict[str, str]:
    """The first hour of partner-day, seed 1, every sink on; the digests of what it wrote.

    ``native`` "0" runs the world from source even where it is compiled (``BEAMDRILL_NATIVE``).
    """
    env = {k: v for k, v in os.environ.items() if k != "BEAMDRILL_NATIVE"} | ({"BEAMDRILL_NATIVE": native} if native else {})
    subprocess.run([str(BEAMDRILL), "run", str(ROOT / "scenarios" / "partner-day.yaml"), "--seed", "1",
                    "--until", "1h", "--events", "--traces", "all", "--metrics", "--out", str(out)],
                   check=True, capture_output=True, cwd=ROOT, env=env)
    return digests(out, PARTNER_HOUR_FILES)


def run_drills(out: Path) -> dict[str, str]:
    """Every built-in drill; the digests of their events and audit logs."""
    subprocess.run([str(BEAMDRILL), "drill", "run", "--all", "--out", str(out)], check=True, capture_output=True,
                   cwd=ROOT)
    return digests(out, DRILL_FILES)


def golden() -> dict[str, dict[str, str]]:
    """The pinned digests."""
    pinned: dict[str, dict[str, str]] = json.loads(GOLDEN.read_text())
    return pinned


@pytest.mark.parametrize("native", [None, "0"], ids=["as-installed", "from-source"])
def test_partner_day_first_hour_matches_its_golden_digests(tmp_path: Path, native: str | None) -> None:
    """The same bytes whether the world's hot modules run compiled or from source."""
    assert run_partner_hour(tmp_path, native) == golden()["partner-day-1h"]


def test_built_in_drills_match_their_golden_digests(drill_runs: tuple[Path, Path]) -> None:
    assert digests(drill_runs[0], DRILL_FILES) == golden()["drills"]


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    with tempfile.TemporaryDirectory() as scratch:
        pinned = {"partner-day-1h": run_partner_hour(Path(scratch) / "day"), "drills": run_drills(Path(scratch) / "d")}
    GOLDEN.write_text(json.dumps(pinned, indent=2, sort_keys=True) + "\n")
    print(f"wrote {GOLDEN}")
