"""Reading a YAML file a user gave, safely: bounded in size, nesting and alias expansion
before anything is built from it, every refusal one :class:`Problem` naming the limit.

Every YAML input (scenarios, drills, and later sweep, rollout and policy files) goes
through :func:`read_yaml_mapping`. The checks run on the parser's event stream and the
composed node graph, so a hostile file costs time and memory proportional to its bytes:
nesting is counted from events (PyYAML's composer recurses, so depth is checked first),
and alias expansion is counted on the node graph, where an alias is a shared node.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml

from simulator.kernel.problems import InputError, Problem

#: The largest file read, in bytes.
MAX_BYTES: Final[int] = 10 * 1024 * 1024
#: The deepest nesting of mappings and sequences.
MAX_DEPTH: Final[int] = 64
#: How many nodes aliases may add to a document when they are expanded.
MAX_ALIAS_NODES: Final[int] = 100_000

#: libyaml's loader where PyYAML was built with it (much faster on large files).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPENING: Final = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING: Final = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _deepest(text: str) -> int:
    """The deepest nesting in ``text``, stopping as soon as it passes :data:`MAX_DEPTH`."""
    depth = deepest = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, _OPENING):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > MAX_DEPTH:
                    break
            elif isinstance(event, _CLOSING):
                depth -= 1
    except yaml.YAMLError as exc:
        # The parser's own guard (1,000 levels of flow collections) can fire before the
        # events reach ours, because it scans ahead.
        if "nesting depth" in str(exc):
            return MAX_DEPTH + 1
        raise
    return deepest


def _expanded_nodes(root: yaml.Node) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded) of a composed document."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(key) + size(value) for key, value in node.value)
        sizes[id(node)] = total
        return total

    expanded = size(root)
    return len(sizes), expanded


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
        depth = _deepest(text)
        if depth > MAX_DEPTH:
            raise refuse("(file)", f"expected mappings and lists nested at most {MAX_DEPTH} deep, found deeper")
        root = yaml.compose(text, Loader=_Loader)
        if root is None:
            raise refuse("(file)", "expected a YAML mapping, found an empty file")
        distinct, expanded = _expanded_nodes(root)
        if expanded - distinct > MAX_ALIAS_NODES:
            raise refuse("(file)", f"expected aliases to add at most {MAX_ALIAS_NODES:,} nodes when expanded, "
                                   f"found {expanded - distinct:,}")
        data = _Loader(text).construct_document(root)
    except yaml.YAMLError as exc:
        exc = _pure_python_error(text) or exc
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        reason = (getattr(exc, "problem", None) or "a syntax error").removeprefix("found ")
        raise refuse(where, f"expected valid YAML, found {reason}") from None
    if not isinstance(data, dict):
        raise refuse("(top level)", f"expected a YAML mapping, found {type(data).__name__}")
    return data
