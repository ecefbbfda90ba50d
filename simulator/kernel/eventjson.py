"""Events as JSON lines: ``json.dumps(event.to_json(), separators=(",", ":")) + "\\n"``,
byte for byte, without building a dict or running the generic encoder per event.

This module is compiled with mypyc (:mod:`simulator.native`): :class:`EventEncoder` walks
each event's ``data`` once and writes every value by its exact class (a string through a
memo of escaped texts, an ``int`` or ``float`` by its ``repr``, ``None`` and the bools as
constants, a ``dict`` or ``list`` element by element), the key texts remembered. The
parts of a whole batch of lines are joined once. ``t`` and ``nonce`` are kept from the
previous event when they are the same object (most events share the instant and the
nonce of the one before). Subscribed to a stream, the encoder is an
:class:`~simulator.kernel.events.EventWriter`: it is given each event's fields, and the
stream builds no :class:`~simulator.kernel.events.Event` for it. The time is taken as the
object it is, never through ``Event``'s field type, so an ``int`` time stays an ``int``.

Whatever this walk does not write itself goes to the standard library, so the output, or
the error, is always ``json.dumps``'s own: a value of any other class (a subclass, a set)
or nested deeper than :data:`MAX_DEPTH` through :func:`~simulator.kernel.jsontext.json_value`,
and an event whose ``kind`` or nonce is of another class, whose ``data`` is not a ``dict``
or has a key that is not a string, or is ``t``, ``kind`` or ``nonce``, through
:func:`encode_event`.
"""

from __future__ import annotations

import json
from math import copysign
from typing import Any, Callable, Final, Iterable, cast

from simulator.kernel.events import Event, EventWriter
from simulator.kernel.jsontext import json_string, json_value

__all__ = ["EventEncoder", "encode_event", "MAX_DEPTH"]

#: How deep dicts and lists inside ``data`` are written here; deeper ones go to json_value.
MAX_DEPTH: Final[int] = 4
#: Escaped texts remembered per encoder (strings, then floats); a full memo starts again.
_MAX_MEMO: Final[int] = 4096
_RESERVED: Final[frozenset[str]] = frozenset({"t", "kind", "nonce"})
_UNSET: Final = object()


def encode_event(event: Event) -> str:
    """The reference: ``event`` as one JSON line, as ``json.dumps`` writes it."""
    return json.dumps(event.to_json(), separators=(",", ":")) + "\n"


class EventEncoder(EventWriter):
    """Writes events as JSON lines, each exactly :func:`encode_event`'s text. Subscribed
    to a stream (as an :class:`~simulator.kernel.events.EventWriter`), it keeps the lines
    of what it is given and hands them to ``flush`` every ``batch`` events; :meth:`take`
    returns the rest. Holds the memos and the previous event's ``t`` and nonce texts: give
    one encoder one stream, in order."""

    def __init__(self, flush: Callable[[str], object] | None = None, batch: int = 1024) -> None:
        self._flush = flush
        self._batch = batch
        self._parts: list[str] = []
        self._pending = 0
        self._strings: dict[str, str] = {}
        self._floats: dict[float, str] = {}
        self._members: dict[str, str] = {}
        self._last_t: object = _UNSET
        self._t_text = ""
        self._last_nonce: object = _UNSET
        self._nonce_text = ""
        #: Events given so far.
        self.count = 0
        #: Events written by json.dumps because their ``data`` is not a dict of string keys.
        self.fallbacks = 0

    def line(self, event: Event) -> str:
        """The JSON line of ``event``, newline included."""
        return self.text((event,))

    def text(self, events: Iterable[Event]) -> str:
        """The JSON lines of ``events``, in order, newlines included (after any not yet taken)."""
        for event in events:
            fields: Any = event  # read as objects, not through Event's field types
            kind, nonce, data = fields[1], fields[2], fields[3]
            if type(kind) is str and (nonce is None or type(nonce) is str) and type(data) is dict:
                self.write(fields[0], kind, nonce, data)
            else:
                self._parts.append(encode_event(event))
                self.fallbacks += 1
                self.count += 1
        return self.take()

    def take(self) -> str:
        """The lines written since the last :meth:`take` or flush."""
        text = "".join(self._parts)
        self._parts.clear()
        self._pending = 0
        return text

    def write(self, time: Any, kind: str, nonce: str | None, data: dict[str, Any]) -> None:
        """Write one event's line."""
        parts = self._parts
        if time is not self._last_t:
            finite = type(time) is float and time - time == 0.0  # virtual times rarely recur: no memo
            self._t_text = '{"t":' + (repr(time) if finite else json_value(time))
            self._last_t = time if type(time) is float or type(time) is int else _UNSET
        if nonce is not self._last_nonce:
            self._nonce_text = ',"nonce":' + ("null" if nonce is None else json_string(nonce))
            self._last_nonce = nonce
        mark = len(parts)
        try:
            self._line(parts, mark, time, kind, nonce, data)
        except BaseException:  # json's error, or an interrupt: no part of this line stays behind
            del parts[mark:]
            raise
        self.count += 1
        self._pending += 1
        if self._pending >= self._batch and self._flush is not None:
            self._flush(self.take())

    def _line(self, parts: list[str], mark: int, time: Any, kind: str, nonce: str | None,
              data: dict[str, Any]) -> None:
        """Append the parts of one event's line (from ``mark`` on)."""
        parts.append(self._t_text)
        parts.append(',"kind":')
        parts.append(self._string(kind))
        parts.append(self._nonce_text)
        members = self._members
        walked: dict[Any, Any] = data  # keys unchecked: compiled, a str-typed key is checked and an int one raises
        for key, value in walked.items():
            member = members.get(key)
            if member is None:
                if type(key) is not str or key in _RESERVED:
                    del parts[mark:]
                    parts.append(encode_event(Event(time, kind, nonce, data)))
                    self.fallbacks += 1
                    return
                member = ',' + json_string(key) + ':'
                if len(members) < _MAX_MEMO:
                    members[key] = member
            parts.append(member)
            self._value(parts, value, 0)
        parts.append("}\n")

    def _string(self, value: str) -> str:
        strings = self._strings
        text = strings.get(value)
        if text is None:
            text = json_string(value)
            if len(strings) >= _MAX_MEMO:
                strings.clear()
            strings[value] = text
        return text

    def _float(self, value: float) -> str:
        """:func:`~simulator.kernel.jsontext.json_float`, compiled here: calling that one from
        source made the encoder 20% slower (1.19 → 1.46 µs an event)."""
        if value == 0.0:  # 0.0 == -0.0 would share a memo slot but not a text
            return "-0.0" if copysign(1.0, value) < 0.0 else "0.0"
        floats = self._floats
        text = floats.get(value)
        if text is None:
            if value - value != 0.0:  # not finite
                return json_value(value)
            text = repr(value)
            if len(floats) >= _MAX_MEMO:
                floats.clear()
            floats[value] = text
        return text

    def _value(self, parts: list[str], value: object, depth: int) -> None:
        """Append the text of ``value``, found inside ``data`` at ``depth`` containers down."""
        if type(value) is str:
            parts.append(self._string(value))
        elif value is None:
            parts.append("null")
        elif value is True:
            parts.append("true")
        elif value is False:
            parts.append("false")
        elif type(value) is int:
            parts.append(int.__repr__(value))
        elif type(value) is float:
            parts.append(self._float(value))
        elif depth >= MAX_DEPTH:
            parts.append(json_value(value))
        elif type(value) is dict:
            self._object(parts, value, depth + 1)
        elif type(value) is list or type(value) is tuple:
            self._array(parts, value, depth + 1)
        else:
            parts.append(json_value(value))

    def _object(self, parts: list[str], value: dict[object, object], depth: int) -> None:
        for key in value:
            if type(key) is not str:
                parts.append(json_value(value))
                return
        separator = "{"
        for key, item in value.items():
            parts.append(separator + self._string(cast(str, key)) + ":")
            self._value(parts, item, depth)
            separator = ","
        parts.append("}" if value else "{}")

    def _array(self, parts: list[str], value: Iterable[object], depth: int) -> None:
        separator = "["
        for item in value:
            parts.append(separator)
            self._value(parts, item, depth)
            separator = ","
        parts.append("[]" if separator == "[" else "]")
