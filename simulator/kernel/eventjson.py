"""Events as JSON lines: ``json.dumps(event.to_json(), separators=(",", ":")) + "\\n"``,
byte for byte, without building a dict or running the generic encoder per event.

Every event kind has a fixed key order: each producer builds its ``data`` the same way
every time (``transition``: ``path, from, to`` on the bus, plus ``code`` and sometimes
``forced`` in the directory). :class:`EventEncoder` learns a kind's schema (its keys, in
order, for one key count) from the first event that has it and compiles a small function
for it with :func:`~simulator.kernel.jsonobjects.compile_members`, which writes the line
with the key texts in place and only the values to encode, memoising whole texts where
that is exact. ``t`` and ``nonce`` are kept from the previous event when they are the
same object (most events share the instant and the nonce of the one before).

Events are encoded a batch at a time (:meth:`EventEncoder.text`): a tight loop over a few
thousand events keeps the compiled functions and their memos in the CPU's caches, where
encoding each event as the world emits it, between the world's own work, costs about
half as much again.

An event that fits no compiled schema (keys in another order, a key that is not a
string or that clashes with ``t``, ``kind`` or ``nonce``, an odd ``kind``) is written by
``json.dumps`` itself, so the output never differs from it.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Final, Iterable

from simulator.kernel.events import Event
from simulator.kernel.jsonobjects import compile_members
from simulator.kernel.jsontext import json_string, json_value

__all__ = ["EventEncoder", "encode_event"]

#: A compiled schema: (``t`` text, nonce text, data) → the line, or None if ``data``'s keys
#: are not the schema's.
_Line = Callable[[str, str, dict[str, Any]], "str | None"]

_RESERVED: Final[frozenset[str]] = frozenset({"t", "kind", "nonce"})
#: Schemas compiled at most per encoder (a stream of ever new kinds is written by json.dumps).
_MAX_SCHEMAS: Final[int] = 256
_UNSET: Final = object()
_float_repr = float.__repr__


def encode_event(event: Event) -> str:
    """The reference: ``event`` as one JSON line, as ``json.dumps`` writes it."""
    return json.dumps(event.to_json(), separators=(",", ":")) + "\n"


def _compile(kind: str, sample: dict[str, Any], replace: Callable[[_Line], None]) -> _Line:
    """The line function of ``kind`` events whose data has exactly the keys of ``sample``, in order."""
    line: _Line = compile_members(sample, "t, nonce, data", "{t}{HEAD}{nonce}", "}}\\n", 0, replace,
                                  {"HEAD": ',"kind":' + json_string(kind) + ',"nonce":'})
    return line


class EventEncoder:
    """Writes events as JSON lines, each exactly :func:`encode_event`'s text (see the module
    docstring for how). Holds the compiled schemas and the previous event's ``t`` and nonce
    texts: give one encoder one stream, in order."""

    def __init__(self) -> None:
        self._schemas: dict[str, dict[int, _Line]] = {}
        self._compiled = 0
        self._previous: tuple[Any, str, Any, str] = (_UNSET, "", _UNSET, "")
        #: Events written by json.dumps because no compiled schema fitted them.
        self.fallbacks = 0

    def line(self, event: Event) -> str:
        """The JSON line of ``event``, newline included."""
        return self.text((event,))

    def text(self, events: Iterable[Event]) -> str:
        """The JSON lines of ``events``, in order, newlines included."""
        schemas = self._schemas
        learn = self._learn
        last_t, t_text, last_nonce, nonce_text = self._previous
        lines: list[str] = []
        append = lines.append
        for event in events:
            t, kind, nonce, data = event
            if t is not last_t:
                if t.__class__ is float and t - t == 0.0:  # finite: its repr (virtual times rarely recur)
                    t_text = '{"t":' + _float_repr(t)
                    last_t = t
                else:
                    t_text = '{"t":' + json_value(t)
                    last_t = t if t.__class__ is int else _UNSET
            if nonce is not last_nonce:
                if nonce.__class__ is str:
                    nonce_text = json_string(nonce)
                    last_nonce = nonce
                else:
                    nonce_text = json_value(nonce)
                    last_nonce = None if nonce is None else _UNSET
            by_count = schemas.get(kind)
            text = None
            if by_count is not None:
                compiled = by_count.get(len(data))
                if compiled is not None:
                    text = compiled(t_text, nonce_text, data)
            append(text if text is not None else learn(event, t_text, nonce_text))
        self._previous = (last_t, t_text, last_nonce, nonce_text)
        return "".join(lines)

    def _learn(self, event: Event, t_text: str, nonce_text: str) -> str:
        """An event no compiled schema took: compile its schema if it can have one, else json.dumps."""
        kind, data = event[1], event[3]
        if (kind.__class__ is str and self._compiled < _MAX_SCHEMAS
                and all(key.__class__ is str and key not in _RESERVED for key in data)):
            by_count = self._schemas.setdefault(kind, {})
            count = len(data)
            if count not in by_count:
                def replace(compiled: _Line) -> None:
                    by_count[count] = compiled

                by_count[count] = _compile(kind, data, replace)
                self._compiled += 1
                text = by_count[count](t_text, nonce_text, data)
                if text is not None:
                    return text
        self.fallbacks += 1
        return encode_event(event)
