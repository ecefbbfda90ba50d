"""JSON text of single values, exactly as ``json.dumps(value, separators=(",", ":"))``
writes them, faster for the values events carry.

Strings are escaped by the standard library's own C function (ASCII only, as
``json.dumps`` does by default); ``None``, ``True`` and ``False`` are constants; an
``int`` is its ``int.__repr__``; a finite ``float`` its ``float.__repr__`` (a non-finite
one ``NaN``, ``Infinity`` or ``-Infinity``); a ``dict`` with string keys and a ``list`` or
``tuple`` are written element by element. Anything else (subclasses, other key types,
values nested deeper than :data:`MAX_DEPTH`, values json cannot encode) goes to the
standard encoder itself, so the text, or the error, is always json's own.

Repeated floats are remembered (:data:`_FLOATS`): two equal non-zero floats have the same
``repr``; zero is never remembered (``0.0 == -0.0``), its sign says which text it has.
"""

from __future__ import annotations

import json
from math import copysign as _copysign
from json.encoder import encode_basestring_ascii as json_string
from typing import Any, Final

__all__ = ["json_string", "json_value", "json_dumps", "MAX_DEPTH"]

#: ``json.dumps(value, separators=(",", ":"))`` as one reusable encoder (json.dumps builds
#: the same encoder afresh on each call).
json_dumps: Final = json.JSONEncoder(separators=(",", ":")).encode
#: How deep dicts and lists are written here; deeper ones go to :data:`json_dumps` whole.
MAX_DEPTH: Final[int] = 4
_FLOATS: dict[float, str] = {}
_MAX_FLOATS: Final[int] = 4096
_float_repr = float.__repr__
_int_repr = int.__repr__


class _Delegate(Exception):
    """A value this module leaves to the standard encoder."""


def json_float(value: float) -> str:
    """The JSON text of an exact ``float``: its ``repr``, or ``NaN``/``Infinity``/``-Infinity``."""
    text = _FLOATS.get(value)
    if text is not None:
        return text
    if value - value == 0.0:  # finite
        if not value:  # 0.0 == -0.0 would share a memo slot but not a text
            return "-0.0" if _copysign(1.0, value) < 0.0 else "0.0"
        text = _float_repr(value)
        if len(_FLOATS) >= _MAX_FLOATS:
            _FLOATS.clear()
        _FLOATS[value] = text
        return text
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _text(value: Any, depth: int) -> str:
    kind = value.__class__
    if kind is str:
        return json_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return _int_repr(value)
    if kind is float:
        return json_float(value)
    if depth >= MAX_DEPTH:
        raise _Delegate
    if kind is list or kind is tuple:
        return "[" + ",".join([_text(item, depth + 1) for item in value]) + "]"
    if kind is dict:
        parts = []
        for key, item in value.items():
            if key.__class__ is not str:
                raise _Delegate
            parts.append(json_string(key) + ":" + _text(item, depth + 1))
        return "{" + ",".join(parts) + "}"
    raise _Delegate


def json_value(value: Any) -> str:
    """Return ``json.dumps(value, separators=(",", ":"))``, byte for byte (and its errors)."""
    try:
        return _text(value, 0)
    except _Delegate:
        return json_dumps(value)
