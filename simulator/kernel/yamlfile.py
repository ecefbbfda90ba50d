"""Reading a YAML file a user gave, safely: bounded in size, nesting and alias expansion
before anything is built from it, every refusal one :class:`Problem` naming the limit.

Every YAML input (scenarios, drills, and later sweep, rollout and policy files) goes
through :func:`read_yaml_mapping`. The file is read in one pass over libyaml's event
stream (:mod:`simulator.kernel.yamlevents`), which counts nesting and alias expansion as
it builds the data, so a hostile file costs time and memory proportional to its bytes:
past :data:`MAX_DEPTH` levels the pass stops at once, and past :data:`MAX_ALIAS_NODES`
added nodes it builds nothing more and only counts, to name the total.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from simulator.kernel.problems import InputError, Problem
from simulator.kernel.yamlevents import EMPTY, Refused, build_document

#: The largest file read, in bytes.
MAX_BYTES: Final[int] = 10 * 1024 * 1024
#: The deepest nesting of mappings and sequences.
MAX_DEPTH: Final[int] = 64
#: How many nodes aliases may add to a document when they are expanded.
MAX_ALIAS_NODES: Final[int] = 100_000


def _pure_python_error(text: str) -> yaml.YAMLError | None:
    """The error PyYAML's own parser gives for ``text``: libyaml finds the same errors but
    words them differently, and the pure-Python wording is the one users see."""
    try:
        for _ in yaml.parse(text, Loader=yaml.SafeLoader):
            pass
    except yaml.YAMLError as exc:
        return exc
    return None


def read_yaml_mapping(path: Path, error: type[InputError]) -> dict[str, Any]:
    """Read ``path`` as a YAML mapping or raise ``error`` with one clear problem."""
    file = str(path)

    def refuse(field: str, message: str) -> InputError:
        return error([Problem(file=file, field=field, message=message)])

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise refuse("(file)", f"expected at most {MAX_BYTES:,} bytes, found {size:,}")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise refuse("(file)", "expected an existing file, found nothing there") from None
    except (IsADirectoryError, NotADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise refuse("(file)", f"expected a readable UTF-8 text file ({exc.__class__.__name__})") from None
    try:
        data = build_document(text, MAX_DEPTH, MAX_ALIAS_NODES)
    except Refused as refusal:
        raise refuse(refusal.where, refusal.message) from None
    except yaml.YAMLError as exc:
        exc = _pure_python_error(text) or exc
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        reason = (getattr(exc, "problem", None) or "a syntax error").removeprefix("found ")
        raise refuse(where, f"expected valid YAML, found {reason}") from None
    if data is EMPTY:
        raise refuse("(file)", "expected a YAML mapping, found an empty file")
    if not isinstance(data, dict):
        raise refuse("(top level)", f"expected a YAML mapping, found {type(data).__name__}")
    return data
