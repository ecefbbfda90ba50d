"""The import rules of the README's architecture map, read from the source with ``ast``.

Every import counts, ``TYPE_CHECKING`` ones included: a layer of :mod:`simulator` may
import only itself and the layers below it, so no two subpackages import each other; and
:mod:`drills` reaches the world only through its public API, never Beam's components or
the world's internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The layers of ``simulator``, bottom first; top-level modules are the world layer.
LAYERS = ("kernel", "scenario", "beam", "operator", "world", "telemetry")
#: What ``drills`` may import from ``simulator`` (a module or package prefix).
DRILLS_MAY_IMPORT = ("simulator", "simulator.world", "simulator.summary", "simulator.reference", "simulator.kernel",
                     "simulator.scenario", "simulator.operator", "simulator.telemetry")


def module_name(path: Path) -> str:
    """``simulator/beam/bus.py`` → ``simulator.beam.bus``; a package is its ``__init__``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved, ``from X import y``
    counted as ``X.y`` when ``X.y`` is a module of the project and as ``X`` otherwise."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return {module for module in found if module.split(".")[0] in ("simulator", "drills")}


MODULES = {module_name(path) for package in ("simulator", "drills") for path in (ROOT / package).rglob("*.py")}


def layer(module: str) -> str | None:
    """The layer of a ``simulator`` module; None for the package root (the public API)."""
    parts = module.split(".")
    if parts == ["simulator"]:
        return None
    if len(parts) > 2 or (ROOT / "simulator" / parts[1]).is_dir():
        return parts[1]
    return "world"


SIMULATOR_FILES = sorted((ROOT / "simulator").rglob("*.py"))


def test_every_subpackage_is_a_layer() -> None:
    subpackages = {path.parent.name for path in SIMULATOR_FILES if path.parent != ROOT / "simulator"}
    assert subpackages <= set(LAYERS), subpackages - set(LAYERS)


@pytest.mark.parametrize("path", SIMULATOR_FILES, ids=lambda path: module_name(path))
def test_simulator_imports_point_down(path: Path) -> None:
    own = layer(module_name(path))
    if own is None:
        return
    upward = [module for module in sorted(imports(path))
              if module.startswith("drills") or (layer(module) is not None
                                                and LAYERS.index(layer(module) or own) > LAYERS.index(own))]
    assert upward == [], f"{module_name(path)} ({own}) imports upward: {upward}"


@pytest.mark.parametrize("path", sorted((ROOT / "drills").rglob("*.py")), ids=lambda path: module_name(path))
def test_drills_use_the_public_api(path: Path) -> None:
    deeper = [module for module in sorted(imports(path)) if module.startswith("simulator")
              and not any(module == allowed or (allowed != "simulator" and module.startswith(allowed + "."))
                          for allowed in DRILLS_MAY_IMPORT)]
    assert deeper == [], f"{module_name(path)} reaches past the world's public API: {deeper}"


def test_no_cycle_between_subpackages() -> None:
    edges: dict[str, set[str]] = {}
    for path in SIMULATOR_FILES:
        own = layer(module_name(path))
        for module in imports(path):
            other = layer(module) if module.startswith("simulator") else None
            if own is not None and other is not None and other != own:
                edges.setdefault(own, set()).add(other)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt}))
                   for nxt in edges.get(start, ()))

    assert [name for name in LAYERS if reaches(name, name, set())] == []


def test_the_checks_see_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The walker is not blind: a kernel module importing the bus is found."""
    fake = ROOT / "simulator" / "kernel" / "units.py"
    source = fake.read_text(encoding="utf-8") + "\nif False:\n    from simulator.beam.bus import Bus\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source if self == fake else
                        Path.read_bytes(self).decode(encoding or "utf-8"))
    assert "simulator.beam.bus" in imports(fake)
    with pytest.raises(AssertionError, match="imports upward"):
        test_simulator_imports_point_down(fake)
