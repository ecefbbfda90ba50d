"""Building blocks shared by every input schema: the strict base model and common types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from simulator.units import Duration

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
#: A probability in [0, 1].
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Model(BaseModel):
    """Base for every schema model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _latency_shorthand(value: Any) -> Any:
    """Read a bare duration as a fixed latency."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "mean": value}
    return value


class Latency(Model):
    """How long an agent takes to answer: a distribution over seconds.

    ``fixed`` always takes ``mean``; ``exponential`` has mean ``mean``; ``lognormal`` has
    mean ``mean`` and shape ``sigma``; ``uniform`` draws from ``low``..``high``.
    A bare duration (``latency: 80ms``) means fixed.
    """

    dist: Literal["fixed", "exponential", "lognormal", "uniform"] = "fixed"
    mean: Duration = 0.05
    sigma: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5
    low: Duration | None = None
    high: Duration | None = None

    @model_validator(mode="after")
    def _uniform_bounds(self) -> "Latency":
        if self.dist == "uniform":
            if self.low is None or self.high is None:
                raise ValueError("expected both low and high for dist uniform")
            if self.low > self.high:
                raise ValueError("expected low ≤ high")
        return self


#: A latency field: a :class:`Latency` or a bare duration meaning fixed.
latency_field = Annotated[Latency, BeforeValidator(_latency_shorthand)]


class AclEntry(Model):
    """One ACL row: ``target`` accepts ``intent`` from senders matching ``allowed_from``."""

    target: BeamId
    intent: str
    allowed_from: Annotated[str, StringConstraints(min_length=1)]
