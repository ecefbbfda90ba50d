"""The built-in rollouts shipped in ``drills/rollouts/``, and how a rollout is found by name."""

from __future__ import annotations

from pathlib import Path

from drills.drillfile.builtin import resolve_named
from simulator import Problem

ROLLOUTS = Path(__file__).parent.parent / "rollouts"


def builtin_rollouts() -> list[Path]:
    """Every built-in rollout file, by name."""
    return sorted(ROLLOUTS.glob("*.yaml"))


def resolve_rollout(name: str) -> Path | Problem:
    """A rollout given on the command line: a YAML file path, or a built-in rollout's name."""
    return resolve_named(name, builtin_rollouts(), "rollout", "ROLLOUT")
