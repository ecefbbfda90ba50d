"""The built-in sweeps and studies shipped in ``drills/sweeps/``, and how one is found by
name on the command line (``beamdrill sweep metastability``)."""

from __future__ import annotations

from pathlib import Path

from drills.drillfile.builtin import resolve_named
from simulator.kernel.problems import Problem

#: Where the built-in sweeps live (their worlds are in ``worlds/`` beside them).
SWEEPS = Path(__file__).parent.parent / "sweeps"


def builtin_sweeps() -> list[Path]:
    """Every built-in sweep file, by name."""
    return sorted(SWEEPS.glob("*.yaml"))


def resolve_sweep(name: str) -> Path | Problem:
    """A sweep given on the command line: a YAML file path, or a built-in sweep's name."""
    return resolve_named(name, builtin_sweeps(), "sweep", "SWEEP")
