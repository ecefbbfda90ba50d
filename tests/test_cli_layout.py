"""What people read off the command line when it is piped: ids, nonces, drill names and
paths whole on one line at any width, and no stray blank lines on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import beamdrill
from drills.drillfile.builtin import ORDER

#: A narrow terminal width; the output is captured, as when piped.
NARROW = {"COLUMNS": "40"}


@pytest.fixture(scope="module")
def clean_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """``beamdrill drill run clean-demo`` once: the result directory and its stderr."""
    out = tmp_path_factory.mktemp("clean") / "runs"
    done = beamdrill("drill", "run", "clean-demo", "--out", out, env=NARROW)
    assert done.returncode == 0, done.stderr
    return out, done.stderr


def test_drill_run_prints_no_blank_line_on_stderr(clean_demo: tuple[Path, str]) -> None:
    _, stderr = clean_demo
    assert stderr == ""
