"""beamdrill installs like a tool: the wheel carries the built-in drills and scenarios,
and ``python -m drills drill run clean-demo`` works from any directory with only the
wheel's files (the checkout is not on the path)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def source_copy(into: Path) -> Path:
    """What the wheel is built from, copied to ``into``: pip builds in the tree it is given
    (``build/``, ``*.egg-info``), and the checkout's must not change while other tests read it."""
    into.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, into / name)
    for package in ("simulator", "drills"):
        shutil.copytree(REPO / package, into / package, ignore=shutil.ignore_patterns("__pycache__"))
    return into


def test_the_wheel_runs_a_built_in_drill_from_another_directory(tmp_path: Path) -> None:
    source = source_copy(tmp_path / "source")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    assert "deprecat" not in built.stderr.lower()
    wheel = next((tmp_path / "dist").glob("beamdrill-*.whl"))
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run([sys.executable, "-c", "import drills; print(drills.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip().startswith(str(target)), probe  # the wheel's copy, not the checkout
    done = subprocess.run([sys.executable, "-m", "drills", "drill", "run", "clean-demo", "--out", "runs"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads((elsewhere / "runs" / "clean-demo" / "result.json").read_text())
    assert result["drill"]["verdict"] == "completed"
    assert result["scenario_file"] == "drills/scenarios/demo.yaml"
    version = subprocess.run([sys.executable, "-m", "drills", "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=60)
    assert version.stdout == "beamdrill 0.1.0\n"
