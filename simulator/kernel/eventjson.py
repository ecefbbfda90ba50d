"""Events as JSON lines: ``json.dumps(event.to_json(), separators=(",", ":")) + "\\n"``,
byte for byte, without building a dict or running the generic encoder per event.

Every event kind has a fixed key order: each producer builds its ``data`` the same way
every time (``transition``: ``path, from, to`` on the bus, plus ``code`` and sometimes
``forced`` in the directory). :class:`EventEncoder` learns a kind's schema (its keys, in
order, for one key count) from the first event that has it and compiles a small function
for it (as :mod:`collections` and :mod:`dataclasses` compile theirs) that writes the
line with the key texts in place and only the values to encode:

- a string value through a per-key memo of its escaped text, ``None``, ``True`` and
  ``False`` as constants, anything else through :func:`~simulator.kernel.jsontext.json_value`;
- while every value seen so far was a string or ``None`` (a ``transition`` or
  ``forgotten`` event), the whole text after the nonce is memoised by the tuple of
  values; at the first value of another type (equal numbers of different types, and
  ``0.0`` and ``-0.0``, must not share a text), an unhashable one or a full memo, the
  schema falls back to encoding value by value for good;
- ``t`` and ``nonce`` are kept from the previous event when they are the same object
  (most events share the instant and the nonce of the one before).

An event that fits no compiled schema (keys in another order, a key that is not a
string or that clashes with ``t``, ``kind`` or ``nonce``, an odd ``kind``) is written by
``json.dumps`` itself, so the output never differs from it.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Final

from simulator.kernel.events import Event
from simulator.kernel.jsontext import json_float, json_string, json_value

__all__ = ["EventEncoder", "encode_event"]

#: A compiled schema: (``t`` text, nonce text, data) → the line, or None if ``data``'s keys
#: are not the schema's.
_Line = Callable[[str, str, dict[str, Any]], "str | None"]

_RESERVED: Final[frozenset[str]] = frozenset({"t", "kind", "nonce"})
#: Schemas compiled at most per encoder (a stream of ever new kinds is written by json.dumps).
_MAX_SCHEMAS: Final[int] = 256
#: Whole value tuples memoised per schema, and string texts per key.
_MAX_TAILS: Final[int] = 4096
_MAX_STRINGS: Final[int] = 1024
_UNSET: Final = object()


def encode_event(event: Event) -> str:
    """The reference: ``event`` as one JSON line, as ``json.dumps`` writes it."""
    return json.dumps(event.to_json(), separators=(",", ":")) + "\n"


def _string(memo: dict[str, str], value: str) -> str:
    """The escaped text of ``value``, remembered in ``memo`` while it has room."""
    text = json_string(value)
    if len(memo) < _MAX_STRINGS:
        memo[value] = text
    return text


def _value_code(index: int) -> list[str]:
    """Source lines setting ``s{index}`` to the JSON text of ``v{index}``."""
    return [f"    if v{index}.__class__ is str:",
            f"        s{index} = m{index}.get(v{index})",
            f"        if s{index} is None:",
            f"            s{index} = _string(m{index}, v{index})",
            f"    elif v{index} is None:",
            f"        s{index} = 'null'",
            f"    elif v{index} is True:",
            f"        s{index} = 'true'",
            f"    elif v{index} is False:",
            f"        s{index} = 'false'",
            f"    else:",
            f"        s{index} = _value(v{index})"]


def _compile(kind: str, keys: tuple[str, ...], replace: Callable[[_Line], None]) -> _Line:
    """The line function of ``kind`` events whose data has exactly ``keys``, in order.

    It starts memoising whole tails; on its first reason not to, it installs (with
    ``replace``) and from then on is the value-by-value function.
    """
    head = ',"kind":' + json_string(kind) + ',"nonce":'
    if not keys:
        def empty(t: str, nonce: str, data: dict[str, Any]) -> str | None:
            return None if data else f"{t}{head}{nonce}}}\n"
        return empty
    count = len(keys)
    names: dict[str, Any] = {"HEAD": head, "_string": _string, "_value": json_value, "_tails": {},
                             "_MAX_TAILS": _MAX_TAILS}
    for index, key in enumerate(keys):
        names[f"K{index}"] = key
        names[f"J{index}"] = "," + json_string(key) + ":"
        names[f"m{index}"] = {}
    key_names = "".join(f"k{index}, " for index in range(count))
    value_names = "".join(f"v{index}, " for index in range(count))
    check = [f"    {key_names}= data",
             "    if " + " or ".join(f"k{index} is not K{index}" for index in range(count)) + ":",
             "        return None",
             f"    {value_names}= data.values()"]
    values: list[str] = []
    for index in range(count):
        values += _value_code(index)
    tail = "".join(f"{{J{index}}}{{s{index}}}" for index in range(count)) + "}}\\n"
    source = ["def by_value(t, nonce, data):", *check, *values, f"    return f'{{t}}{{HEAD}}{{nonce}}{tail}'",
              "",
              f"def tail_of({value_names}):", *values, f"    return f'{tail}'",
              "",
              "def by_tail(t, nonce, data):", *check,
              f"    key = ({value_names})",
              "    try:",
              "        text = _tails.get(key)",
              "    except TypeError:  # an unhashable value",
              "        _demote(by_value)",
              "        return by_value(t, nonce, data)",
              "    if text is None:",
              "        if len(_tails) >= _MAX_TAILS or not (" + " and ".join(
                  f"(v{index}.__class__ is str or v{index} is None)" for index in range(count)) + "):",
              "            _demote(by_value)",
              "            return by_value(t, nonce, data)",
              f"        text = _tails[key] = tail_of({value_names})",
              "    return f'{t}{HEAD}{nonce}{text}'"]
    names["_demote"] = replace
    exec("\n".join(source), names)  # noqa: S102 - compiled from key strings through json_string and repr only
    line: _Line = names["by_tail"]
    return line


class EventEncoder:
    """Writes events as JSON lines, each exactly :func:`encode_event`'s text (see the module
    docstring for how). Holds the compiled schemas and the previous event's ``t`` and nonce:
    use one encoder per stream."""

    def __init__(self) -> None:
        self._schemas: dict[str, dict[int, _Line]] = {}
        self._compiled = 0
        self.fallbacks = 0
        #: ``line(event)``: the JSON line of ``event``, newline included.
        self.line: Callable[[Event], str] = self._make_line()

    def _make_line(self) -> Callable[[Event], str]:
        schemas = self._schemas
        learn = self._learn
        last_t: Any = _UNSET
        last_nonce: Any = _UNSET
        t_text = nonce_text = ""

        def line(event: Event) -> str:
            nonlocal last_t, last_nonce, t_text, nonce_text
            t, kind, nonce, data = event
            if t is not last_t:
                kind_of_t = t.__class__
                t_text = '{"t":' + (json_float(t) if kind_of_t is float else json_value(t))
                last_t = t if kind_of_t is float or kind_of_t is int else _UNSET
            if nonce is not last_nonce:
                nonce_text = json_string(nonce) if nonce.__class__ is str else json_value(nonce)
                last_nonce = nonce if nonce.__class__ is str or nonce is None else _UNSET
            by_count = schemas.get(kind)
            if by_count is not None:
                compiled = by_count.get(len(data))
                if compiled is not None:
                    text = compiled(t_text, nonce_text, data)
                    if text is not None:
                        return text
            return learn(event, t_text, nonce_text)

        return line

    def _learn(self, event: Event, t_text: str, nonce_text: str) -> str:
        """An event no compiled schema took: compile its schema if it can have one, else json.dumps."""
        kind, data = event[1], event[3]
        keys = tuple(data)
        if (kind.__class__ is str and self._compiled < _MAX_SCHEMAS
                and all(key.__class__ is str and key not in _RESERVED for key in keys)):
            by_count = self._schemas.setdefault(kind, {})
            if len(keys) not in by_count:
                count = len(keys)

                def replace(compiled: _Line) -> None:
                    by_count[count] = compiled

                by_count[count] = _compile(kind, keys, replace)
                self._compiled += 1
                text = by_count[count](t_text, nonce_text, data)
                if text is not None:
                    return text
        self.fallbacks += 1
        return encode_event(event)
