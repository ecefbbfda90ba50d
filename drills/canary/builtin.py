"""The built-in rollouts shipped in ``drills/rollouts/``, and how a rollout is found by name."""

from __future__ import annotations

from pathlib import Path

from simulator import Problem

ROLLOUTS = Path(__file__).parent.parent / "rollouts"


def builtin_rollouts() -> list[Path]:
    """Every built-in rollout file, by name."""
    return sorted(ROLLOUTS.glob("*.yaml"))


def resolve_rollout(name: str) -> Path | Problem:
    """A rollout given on the command line: a YAML file path, or a built-in rollout's name."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    builtin = ROLLOUTS / f"{name}.yaml"
    if builtin.is_file():
        return builtin
    names = ", ".join(path.stem for path in builtin_rollouts())
    return Problem(file="(command line)", field="ROLLOUT", message=f"expected a rollout file or one of {names}, "
                                                                   f"found {name!r}")
