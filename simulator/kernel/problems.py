"""Input problems: one clear line per thing wrong with a file the user gave.

Shared by every file format beamdrill reads (scenarios, drills, run directories): a pydantic error
becomes one :class:`Problem` per failing field, with the field path written the way the
user wrote it (``traffic.routes[0].from``), what was expected and what was found.
"""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from simulator.kernel.fields import PATTERN_HINTS


class Problem(BaseModel):
    """One thing wrong with an input file."""

    file: str
    field: str
    message: str

    def line(self) -> str:
        """Return the one-line form printed to the user."""
        return f"{self.file}: {self.field}: {self.message}"


class InputError(Exception):
    """A file the user gave is wrong; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(p.line() for p in problems))


def _walk(model: Any, loc: tuple[int | str, ...]) -> tuple[str, Any]:
    """Follow ``loc`` through the schema; return the user's field path and the model at its
    end. Discriminator tags and validator names in ``loc`` are left out of the path."""
    path = ""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            continue
        tagged = _tagged(current, part) if isinstance(current, list) and len(current) > 1 else None
        if tagged is not None:  # a discriminator tag in a union of kinds, not a field
            current = [tagged]
            continue
        field = _field(current, part)
        if field is not None:
            path += f".{part}" if path else str(part)
            current = _models_in(field.annotation)
            continue
        tagged = _tagged(current, part)
        if tagged is not None:
            current = [tagged]
        elif not part.startswith("function-"):
            path += f".{part}" if path else str(part)
    return path or "(top level)", current


def _field(models: Any, name: str) -> Any:
    for model in models if isinstance(models, list) else [models]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            for field_name, field in model.model_fields.items():
                if name in (field_name, field.alias):
                    return field
    return None


#: Field names that tag the members of a union of models (scenario faults, drill probes and
#: steps, bus retry presets).
TAG_FIELDS = ("kind", "probe", "action", "preset")


def _tagged(models: Any, tag: str) -> Any:
    """Return the model among ``models`` whose tag literal (``kind``, ``probe``, ``action``, ``preset``) is ``tag``."""
    for model in models if isinstance(models, list) else [models]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            for name in TAG_FIELDS:
                if name in model.model_fields and tag in get_args(model.model_fields[name].annotation):
                    return model
    return None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Return every pydantic model inside a type annotation (through lists, unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found += _models_in(arg)
    return found


def _found(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: What pydantic's wording of these errors says, as a reader of a YAML file would put it.
_PLAIN: dict[str, str] = {
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "dict_type": "expected a mapping (key: value lines)",
    "model_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list",
}


def _expected(error: ErrorDetails, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    kind = error["type"]
    message: str = error["msg"]
    if kind == "extra_forbidden":
        return f"unknown key; expected one of: {', '.join(_known_keys(_walk(model, loc[:-1])[1]))}"
    if kind == "missing":
        return "missing; expected a value"
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in ("too_short", "too_long"):
        bound = error.get("ctx", {})["min_length" if kind == "too_short" else "max_length"]
        return f"expected at {'least' if kind == 'too_short' else 'most'} {bound:,} item" + ("" if bound == 1 else "s")
    if message.startswith("Value error, "):
        return message.removeprefix("Value error, ")
    if message.startswith("Input should be"):
        return "expected " + message.removeprefix("Input should be ").strip()
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        return f"expected {PATTERN_HINTS.get(pattern, f'text matching {pattern}')}"
    return "expected " + message[0].lower() + message[1:]


def _known_keys(models: Any) -> list[str]:
    keys: list[str] = []
    for model in models if isinstance(models, list) else [models]:
        if isinstance(model, type) and issubclass(model, BaseModel):
            keys += [f.alias or name for name, f in model.model_fields.items() if (f.alias or name) not in keys]
    return keys


def validation_problems(
    error: ValidationError, file: str, model: type[BaseModel]
) -> list[Problem]:
    """Turn a pydantic error into one :class:`Problem` per failing field."""
    problems = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            problems.append(_tag_problem(item, file, model, loc))
            continue
        message = _expected(item, model, loc)
        says_found = ", found " in message
        if item["type"] not in ("missing", "extra_forbidden") and not says_found:
            message += f", found {_found(item.get('input'))}"
        problems.append(Problem(file=file, field=_walk(model, loc)[0], message=message))
    return problems


def _tag_problem(error: ErrorDetails, file: str, model: type[BaseModel], loc: tuple[Any, ...]) -> Problem:
    """A union member's tag (``kind``, ``probe``, ``action``) is missing or unknown: name the
    tag field and the kinds it may take."""
    path, members = _walk(model, loc)
    name = str(error.get("ctx", {}).get("discriminator", "'kind'")).strip("'")
    tags = [tag for member in (members if isinstance(members, list) else [members])
            if isinstance(member, type) and issubclass(member, BaseModel) and name in member.model_fields
            for tag in get_args(member.model_fields[name].annotation)]
    kinds = ", ".join(repr(tag) for tag in tags)
    field = name if path == "(top level)" else f"{path}.{name}"
    if error["type"] == "union_tag_not_found":
        return Problem(file=file, field=field, message=f"missing; expected a kind among {kinds}")
    return Problem(file=file, field=field,
                   message=f"expected a kind among {kinds}, found {_found(error.get('ctx', {}).get('tag'))}")
