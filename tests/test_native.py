"""The compiled world modules and their guard (:mod:`simulator.native`): compiled code runs
only while it is of the sources beside it, and ``BEAMDRILL_NATIVE=0`` runs the source."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator import native

ROOT = Path(__file__).resolve().parent.parent


def compiled_tree(root: Path) -> Path:
    """A copy of the compiled modules' sources under ``root``, each with a (fake) extension
    module beside it and a manifest of their digests, as ``setup.py`` leaves them."""
    for path in native.MODULES:
        source = root / path
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes((ROOT / path).read_bytes())
        source.with_name(source.stem + importlib.machinery.EXTENSION_SUFFIXES[0]).write_bytes(b"")
    (root / native.MANIFEST).write_text(json.dumps(native.source_digests(root)))
    return root


def test_a_tree_compiled_from_its_sources_runs_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    assert native.status(compiled_tree(tmp_path)) == "compiled"


def test_a_changed_source_runs_every_module_from_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    root = compiled_tree(tmp_path)
    with (root / "simulator/beam/shield.py").open("a") as source:
        source.write("# edited\n")
    assert native.status(root) == ("source (simulator.beam.shield changed since it was compiled; "
                                   "`make native` compiles again)")


def test_a_missing_extension_or_manifest_runs_from_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    root = compiled_tree(tmp_path)
    (root / native.MANIFEST).unlink()
    assert native.status(root) == "source (no readable simulator/native-build.json beside the compiled modules)"
    next(root.glob("simulator/traffic.*.so")).unlink()
    assert native.status(root) == "source (not compiled: `make native` compiles them, given a C compiler)"


def test_an_extension_module_no_longer_listed_runs_everything_from_source(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    root = compiled_tree(tmp_path)
    (root / "simulator/kernel/jsontext.py").write_text("")
    (root / "simulator/kernel" / ("jsontext" + importlib.machinery.EXTENSION_SUFFIXES[0])).write_bytes(b"")
    assert native.status(root) == ("source (simulator.kernel.jsontext is compiled but no longer listed; "
                                   "`make native` compiles again)")


def test_the_switch_runs_from_source_even_when_compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(native.SWITCH, "0")
    assert native.status(compiled_tree(tmp_path)) == "source (BEAMDRILL_NATIVE=0)"


def loaded_from(switch: str | None) -> list[str]:
    """How a fresh process decided, and the file each compiled module was loaded from."""
    env = {k: v for k, v in os.environ.items() if k != native.SWITCH} | ({native.SWITCH: switch} if switch else {})
    script = ("import importlib, simulator, simulator.native as n; print(n.RUNNING); "
              "[print(importlib.import_module(n.module_name(p)).__file__) for p in n.MODULES]")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return done.stdout.splitlines()


def test_the_process_loads_what_the_guard_decided(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.SWITCH, raising=False)
    running, *files = loaded_from(None)
    assert running == native.status()
    assert all(not f.endswith(".py") for f in files) if running == "compiled" else all(f.endswith(".py") for f in files)
    assert len(files) == len(native.MODULES)


def test_with_the_switch_off_every_module_loads_from_its_source() -> None:
    running, *files = loaded_from("0")
    assert running == "source (BEAMDRILL_NATIVE=0)"
    assert files == [str(ROOT / path) for path in native.MODULES]


@pytest.mark.skipif(os.environ.get("BEAMDRILL_REQUIRE_COMPILED") != "1", reason="CI requires it (.ci/run)")
def test_ci_runs_the_world_compiled() -> None:
    import simulator
    assert simulator.world_build() == "compiled"
