"""Schema parts several scenario sections share: an agent's latency distribution and one
ACL row."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from simulator.kernel.fields import BeamId, Model
from simulator.kernel.units import Duration


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
latency_field = Annotated[Latency, BeforeValidator(_latency_shorthand, json_schema_input_type=Union[Latency, Duration])]


class AclEntry(Model):
    """One ACL row: ``target`` accepts ``intent`` from senders matching ``allowed_from``."""

    target: BeamId
    intent: str
    allowed_from: Annotated[str, StringConstraints(min_length=1)]
