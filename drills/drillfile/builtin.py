"""The built-in drills shipped in ``drills/catalog/``, how a drill is found by name, and the
built-in scenarios shipped in ``drills/scenarios/``."""

from __future__ import annotations

from pathlib import Path

from simulator.kernel.problems import Problem

CATALOG = Path(__file__).parent.parent / "catalog"
SCENARIOS = Path(__file__).parent.parent / "scenarios"
#: The built-in drills in the order ``--all`` runs them: the clean baseline first, then
#: the runbook's five failure modes, then the production and recovery drills.
ORDER = ("clean-demo", "fm1-stuck-delivered", "fm2-queued-retries", "fm3-dead-letter", "fm4-forbidden-acl",
         "fm5-rate-limit-shield", "fire-drill", "recovery-drill", "as-coded-retry-defect", "backup-restore-drill",
         "restore-rpo-drill")


def builtin_drills() -> list[Path]:
    """Every built-in drill file, in :data:`ORDER` (any others after, by name)."""
    found = {path.stem: path for path in CATALOG.glob("*.yaml")}
    ordered = [found.pop(name) for name in ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


def resolve_named(name: str, builtins: list[Path], kind: str, field: str) -> Path | Problem:
    """A file given on the command line: a YAML file path, or the name of one of ``builtins``
    (a drill, a sweep, a rollout: ``kind``); a :class:`Problem` on ``field`` listing the
    built-in names otherwise."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    for builtin in builtins:
        if builtin.stem == name:
            return builtin
    names = ", ".join(builtin.stem for builtin in builtins)
    return Problem(file="(command line)", field=field, message=f"expected a {kind} file or one of {names}, "
                                                              f"found {name!r}")


def resolve(name: str) -> Path | Problem:
    """A drill given on the command line: a YAML file path, or a built-in drill's name."""
    return resolve_named(name, builtin_drills(), "drill", "DRILL")


def builtin_scenarios() -> list[Path]:
    """Every built-in scenario file, by name."""
    return sorted(SCENARIOS.glob("*.yaml"))
