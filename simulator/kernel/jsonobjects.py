"""Compiled JSON encoders for dicts with one fixed key order: the text
``json.dumps(value, separators=(",", ":"))`` writes, with the key texts in place and only
the values to encode.

:func:`compile_members` writes the source of a small function for one tuple of keys and
runs it (as :mod:`collections` and :mod:`dataclasses` compile theirs); only names and
indices go into the source, keys and texts are bound as constants. The function first
checks that its dict has exactly those keys, in that order and as the very same string
objects (a dict built by the same code has them), and returns None otherwise. Values:

- a string through a per-key memo of its escaped text; ``None``, ``True``, ``False`` and
  an empty list as constants; a float through
  :func:`~simulator.kernel.jsontext.json_float`; a dict through an :class:`ObjectTable`
  of its own (a nested object compiled the same way, down to :data:`MAX_NESTED` levels);
  anything else through :func:`~simulator.kernel.jsontext.json_value`;
- when the first dict's values are all strings, ``None``, bools, ints, floats or lists,
  the whole text is memoised by a key made of the values, where equal keys mean equal
  texts: each position keeps the value itself if it first held a string or ``None``,
  plus its class if it first held a bool or an int (``1 == 1.0 == True``, their texts
  differ), plus for a float also the sign of a zero (``0.0 == -0.0``), and a list as a
  tuple of its items plus its class. A text is stored only when its values are of the
  kinds the key tells apart at their positions (strings and ``None`` at the first kind
  of position; no floats at the second; lists of strings only). At the first value that
  cannot be stored, an unhashable one or a full memo, the function replaces itself,
  through the ``replace`` callback, with the value-by-value one for good.
"""

from __future__ import annotations

from math import copysign
from typing import Any, Callable, Final

from simulator.kernel.jsontext import json_float, json_string, json_value

__all__ = ["ObjectTable", "compile_members", "encode_object", "MAX_NESTED"]

#: Whole value tuples memoised per compiled function, and string texts per key.
MAX_TAILS: Final[int] = 4096
MAX_STRINGS: Final[int] = 1024
#: Nested dicts compiled below a top-level one (deeper ones go to json_value).
MAX_NESTED: Final[int] = 3
#: Key orders compiled at most per table.
MAX_SCHEMAS: Final[int] = 64

#: Compiled encoders of one position's dict values, by key count.
ObjectTable = dict[int, Callable[[dict[Any, Any]], "str | None"]]


def _string(memo: dict[str, str], value: str) -> str:
    """The escaped text of ``value``, remembered in ``memo`` while it has room."""
    text = json_string(value)
    if len(memo) < MAX_STRINGS:
        memo[value] = text
    return text


def _list_of_strings(value: Any) -> bool:
    """True for a list whose items are all strings (a memo key holds it as a tuple)."""
    return value.__class__ is list and all(item.__class__ is str for item in value)


def encode_object(table: ObjectTable, value: dict[Any, Any], depth: int) -> str:
    """The JSON text of the dict ``value`` through the compiled encoders in ``table``,
    compiling one for its keys when it has none (``depth``: how deep ``value`` is nested)."""
    count = len(value)
    compiled = table.get(count)
    text: str | None
    if compiled is not None:
        text = compiled(value)
        if text is not None:
            return text
    elif len(table) < MAX_SCHEMAS and all(key.__class__ is str for key in value):
        def replace(function: Callable[[dict[Any, Any]], str | None]) -> None:
            table[count] = function

        compiled = compile_members(value, "data", "{{", "}}", depth, replace)
        table[count] = compiled
        text = compiled(value)
        if text is not None:
            return text
    return json_value(value)


def _value_code(index: int, nested: bool) -> list[str]:
    """Source lines setting ``s{index}`` to the JSON text of ``v{index}``."""
    v, s = f"v{index}", f"s{index}"
    lines = [f"    if {v}.__class__ is str:",
             f"        {s} = m{index}.get({v})",
             f"        if {s} is None:",
             f"            {s} = _string(m{index}, {v})",
             f"    elif {v} is None:",
             f"        {s} = 'null'",
             f"    elif {v} is True:",
             f"        {s} = 'true'",
             f"    elif {v} is False:",
             f"        {s} = 'false'",
             f"    elif {v}.__class__ is int:",
             f"        {s} = _int({v})",
             f"    elif {v}.__class__ is float:",
             f"        {s} = _float({v})"]
    if nested:
        lines += [f"    elif {v}.__class__ is dict:",
                  f"        f = o{index}.get(len({v}))",
                  f"        {s} = f({v}) if f is not None else None",
                  f"        if {s} is None:",
                  f"            {s} = _object(o{index}, {v}, DEPTH)"]
    return lines + [f"    elif {v}.__class__ is list and not {v}:",
                    f"        {s} = '[]'",
                    "    else:",
                    f"        {s} = _value({v})"]


def compile_members(sample: dict[str, Any], params: str, prefix: str, suffix: str, depth: int,
                    replace: Callable[[Any], None], constants: dict[str, Any] | None = None) -> Any:
    """A function of ``params`` (whose last one is the dict, ``data``) returning
    ``f"{prefix}" + members + suffix`` for a dict with exactly the keys of ``sample``, in
    order (``"k":value`` pairs, the first with a leading comma unless ``prefix`` opens the
    object), or None for any other dict. ``prefix`` and ``suffix`` are f-string source over
    ``params`` and the names in ``constants``; ``depth`` is how deep the dict is nested (0:
    top level). ``sample``'s values choose how the tuple of values is memoised, if at all."""
    keys = tuple(sample)
    count = len(keys)
    names: dict[str, Any] = {"_string": _string, "_value": json_value, "_float": json_float, "_int": int.__repr__,
                             "_object": encode_object, "_tails": {}, "_MAX_TAILS": MAX_TAILS, "_replace": replace,
                             "DEPTH": depth + 1, **(constants or {})}
    opens = prefix.endswith("{{")
    for index, key in enumerate(keys):
        names[f"K{index}"] = key
        names[f"J{index}"] = ("" if opens and index == 0 else ",") + json_string(key) + ":"
        names[f"m{index}"] = {}
        names[f"o{index}"] = {}
    key_names = "".join(f"k{index}, " for index in range(count))
    value_names = "".join(f"v{index}, " for index in range(count))
    if count:
        check = [f"    {key_names}= data",
                 "    if " + " or ".join(f"k{index} is not K{index}" for index in range(count)) + ":",
                 "        return None",
                 f"    {value_names}= data.values()"]
    else:
        check = ["    if data:", "        return None"]
    values: list[str] = []
    for index in range(count):
        values += _value_code(index, depth < MAX_NESTED)
    tail = "".join(f"{{J{index}}}{{s{index}}}" for index in range(count)) + suffix
    source = [f"def by_value({params}):", *check, *values, f"    return f'{prefix}{tail}'"]
    keys_of: list[str] = []
    stored: list[str] = []
    for index, value in enumerate(sample.values()):
        v, kind = f"v{index}", value.__class__
        if value is None or kind is str:
            keys_of.append(f"{v}, ")
            stored.append(f"({v}.__class__ is str or {v} is None)")
        elif kind is bool or kind is int:
            keys_of.append(f"{v}, {v}.__class__, ")
            stored.append(f"{v}.__class__ in _EXACT")
        elif kind is float:
            keys_of.append(f"{v}, {v}.__class__, {v}.__class__ is float and {v} == 0.0 and _copysign(1.0, {v}), ")
            stored.append(f"({v}.__class__ is float or {v}.__class__ in _EXACT)")
        elif kind is list:
            keys_of.append(f"tuple({v}) if {v}.__class__ is list else {v}, {v}.__class__, ")
            stored.append(f"(_strings({v}) or {v}.__class__ is str or {v} is None)")
        else:
            break
    memoised = count > 0 and len(keys_of) == count
    if memoised:
        names.update(_EXACT=(str, type(None), bool, int), _copysign=copysign, _strings=_list_of_strings)
        storable = " and ".join(stored)
        key = "".join(keys_of)
        source += ["",
                   f"def tail_of({value_names}):", *values, f"    return f'{tail}'",
                   "",
                   f"def by_tail({params}):", *check,
                   f"    key = ({key})",
                   "    try:",
                   "        text = _tails.get(key)",
                   "    except TypeError:  # an unhashable value",
                   "        _replace(by_value)",
                   f"        return by_value({params})",
                   "    if text is None:",
                   f"        if len(_tails) >= _MAX_TAILS or not ({storable}):",
                   "            _replace(by_value)",
                   f"            return by_value({params})",
                   f"        text = _tails[key] = tail_of({value_names})",
                   f"    return f'{prefix}{{text}}'"]
    exec("\n".join(source), names)  # only names and indices are in the source
    return names["by_tail" if memoised else "by_value"]
