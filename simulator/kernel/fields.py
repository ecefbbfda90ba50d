"""Building blocks shared by every input schema: the strict base model, Beam ids, inbox keys
and probabilities, with the hints input errors show for their patterns."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

BEAM_ID_PATTERN = r"^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$"
#: A Beam id: ``name@domain``.
BeamId = Annotated[str, StringConstraints(pattern=BEAM_ID_PATTERN, max_length=200)]
ITEM_KEY_PATTERN = r"^(critical-alert:[a-z0-9-]+|beta-request:[0-9]+)$"
#: An operator inbox item's source key (§9.4): ``critical-alert:<alert id>`` or ``beta-request:<id>``.
ItemKey = Annotated[str, StringConstraints(pattern=ITEM_KEY_PATTERN)]
#: What a value matching each pattern looks like, for error messages.
PATTERN_HINTS: dict[str, str] = {
    BEAM_ID_PATTERN: "a Beam id like name@domain",
    ITEM_KEY_PATTERN: "an inbox item key like critical-alert:<alert id> or beta-request:<request id>",
}


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, found {str(value).lower()}")
    return value


#: A whole number (YAML's ``true`` is an error, not 1; ``2.5`` is an error, not 2).
Count = Annotated[int, BeforeValidator(_not_a_bool)]
#: A string that is not empty.
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
#: A probability in [0, 1].
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Model(BaseModel):
    """Base for every schema model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
