"""The world's hot modules, compiled to C extensions with mypyc when beamdrill is installed,
and the guard that runs them from source whenever the compiled form is not of this source.

``setup.py`` compiles :data:`MODULES` and records each source's SHA-256 in
:data:`MANIFEST`. :func:`guard`, called before any of them is imported, keeps the compiled
modules only when every source still matches the manifest; otherwise, or with
``BEAMDRILL_NATIVE=0`` in the environment, all of them load from their ``.py`` files. All or
none: compiled modules call each other directly in C, so one module run from source
beside compiled ones would not be called by them. Only the standard library is imported
here, because ``setup.py`` reads this file before anything is installed.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Final, Sequence

#: The modules compiled, as paths from the repository's root: the relay's and the bus's
#: paths for one intent and what they call on it (cProfile of partner-day), SimPy's event
#: loop and the per-intent random draws, the event stream and its JSON encoder
#: (``--events``), the span recorder, builder, ids and OTLP JSON encoder (``--traces``),
#: and the latency histogram ``--metrics`` feeds per intent. Compiled code keeps a
#: float-typed value as a C double: what must pass an ``int`` through unchanged (an
#: event's time) is typed ``Any`` there.
MODULES: Final[tuple[str, ...]] = (
    "simulator/beam/acl.py",
    "simulator/beam/agents.py",
    "simulator/beam/bus.py",
    "simulator/beam/busattempt.py",
    "simulator/beam/busmarks.py",
    "simulator/beam/busrows.py",
    "simulator/beam/catalog.py",
    "simulator/beam/directory.py",
    "simulator/beam/intentrelay.py",
    "simulator/beam/ratelimit.py",
    "simulator/beam/relay.py",
    "simulator/beam/retryqueue.py",
    "simulator/beam/security.py",
    "simulator/beam/shield.py",
    "simulator/beam/shieldseam.py",
    "simulator/kernel/draws.py",
    "simulator/kernel/eventjson.py",
    "simulator/kernel/eventloop.py",
    "simulator/kernel/events.py",
    "simulator/kernel/lifecycle.py",
    "simulator/kernel/percentile.py",
    "simulator/kernel/retention.py",
    "simulator/kernel/row.py",
    "simulator/operator/factstore.py",
    "simulator/operator/observations.py",
    "simulator/operator/shieldwindow.py",
    "simulator/telemetry/histogram.py",
    "simulator/telemetry/ids.py",
    "simulator/telemetry/otlpjson.py",
    "simulator/telemetry/spans.py",
    "simulator/telemetry/spanbuild.py",
    "simulator/traffic.py",
)
ROOT: Final[Path] = Path(__file__).resolve().parent.parent
#: Written by ``setup.py`` beside this file: the SHA-256 of each module's source it compiled.
MANIFEST: Final[str] = "simulator/native-build.json"
#: Set to ``0`` to run every module from source even when a current compiled form exists.
SWITCH: Final[str] = "BEAMDRILL_NATIVE"


def module_name(path: str) -> str:
    """``simulator/beam/acl.py`` → ``simulator.beam.acl``."""
    return path.removesuffix(".py").replace("/", ".")


def source_digests(root: Path = ROOT) -> dict[str, str]:
    """The SHA-256 of each compiled module's source under ``root``, by module name."""
    return {module_name(path): hashlib.sha256((root / path).read_bytes()).hexdigest() for path in MODULES}


def compiled_modules(root: Path = ROOT) -> set[str]:
    """The ``simulator`` modules under ``root`` with an extension module beside their source."""
    found = set()
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for extension in (root / "simulator").rglob(f"*{suffix}"):
            source = extension.with_name(extension.name.removesuffix(suffix) + ".py")
            if source.exists():
                found.add(module_name(source.relative_to(root).as_posix()))
    return found


def status(root: Path = ROOT) -> str:
    """Whether the modules under ``root`` can run compiled: ``compiled``, or ``source`` and why."""
    if os.environ.get(SWITCH) == "0":
        return f"source ({SWITCH}=0)"
    compiled, listed = compiled_modules(root), {module_name(path) for path in MODULES}
    if compiled - listed:
        return f"source ({min(compiled - listed)} is compiled but no longer listed; `make native` compiles again)"
    if compiled != listed:
        return "source (not compiled: `make native` compiles them, given a C compiler)"
    try:
        recorded = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return f"source (no readable {MANIFEST} beside the compiled modules)"
    changed = sorted(name for name, digest in source_digests(root).items() if recorded.get(name) != digest)
    if changed:
        return f"source ({changed[0]} changed since it was compiled; `make native` compiles again)"
    return "compiled"


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the ``.py`` file of every ``simulator`` module, ahead of any extension module."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("simulator."):
            return None
        source = ROOT.joinpath(*fullname.split(".")).with_suffix(".py")
        return importlib.util.spec_from_file_location(fullname, source) if source.is_file() else None


#: How the modules run in this process, once :func:`guard` has decided.
RUNNING: str = "undecided"


def guard() -> str:
    """How the world's hot modules run in this process: ``compiled``, or ``source`` and
    why. Decided at the first call, which ``simulator``'s own import makes before any of
    them is imported."""
    global RUNNING
    if RUNNING == "undecided":
        RUNNING = status()
        if RUNNING != "compiled":
            sys.meta_path.insert(0, _SourceFinder())
    return RUNNING
