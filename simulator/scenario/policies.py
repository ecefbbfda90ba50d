"""The scenario schema of retry policies: the bus's retry preset, a retry budget and a
circuit breaker (one per sender→recipient pair), and client-side retries of HTTP and
WebSocket sends (:class:`ClientRetrySpec`). Built into the Beam layer's policy
objects by :mod:`simulator.policies`.

``retry_policy`` is written either as a preset's name (``beam``, ``full_jitter``: the
preset with its default knobs) or as a mapping with ``preset`` and the knobs
(``{preset: full_jitter, base: 1s, cap: 1m, max_retries: 5}``). ``beam`` is Beam's own
schedule and keeps ``bus.max_retries`` (Beam's count of attempts in all); every other
preset carries its own ``max_retries``, Brooker's retries after the first attempt, and
``bus.max_retries`` must then be left at its default: it means nothing to a preset.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union, get_args

from pydantic import (
    AfterValidator, BeforeValidator, Field, SerializerFunctionWrapHandler, ValidationInfo, field_validator,
    model_serializer,
)

from simulator.kernel.fields import Count, Model
from simulator.kernel.units import Duration, PositiveDuration

#: Retries a preset may ask for (Beam's ``max_retries`` has the same bound).
MAX_PRESET_RETRIES = 100


class BeamRetry(Model):
    """Beam's own schedule (beam-model §4.4): 30, 60, 120, 240, 480 s with ±15 % jitter
    from the nonce's hash, ``bus.max_retries`` attempts in all. Written as plain ``beam``."""

    preset: Literal["beam"]

    @model_serializer
    def _as_name(self) -> str:
        return "beam"


class NoRetrySpec(Model):
    """``none``: one attempt, then a dead letter, as Beam's non-retryable path does."""

    preset: Literal["none"]


class _Backoff(Model):
    """The knobs every backoff preset has: the ``base`` wait, the ``cap`` no wait exceeds,
    and ``max_retries``, retries after the first attempt."""

    preset: str
    base: PositiveDuration = 30.0
    cap: Duration = 480.0
    max_retries: Annotated[Count, Field(ge=0, le=MAX_PRESET_RETRIES)] = 4

    @field_validator("cap")
    @classmethod
    def _cap_not_below_base(cls, cap: float, info: ValidationInfo) -> float:
        base = info.data.get("base")
        if base is not None and cap < base:
            raise ValueError(f"expected at least base ({base:g} s), found {cap:g} s")
        return cap


class FixedSpec(_Backoff):
    """``fixed``: every retry waits ``base``."""

    preset: Literal["fixed"]


class ExponentialSpec(_Backoff):
    """``exponential`` (no jitter), ``full_jitter`` and ``equal_jitter``: retry ``n`` grows
    as ``min(cap, base * multiplier**n)``, jittered as Brooker's post defines."""

    preset: Literal["exponential", "full_jitter", "equal_jitter"]
    multiplier: Annotated[float, Field(ge=1, le=100)] = 2.0


class DecorrelatedSpec(_Backoff):
    """``decorrelated_jitter``: ``sleep = min(cap, uniform(base, sleep * multiplier))``."""

    preset: Literal["decorrelated_jitter"]
    multiplier: Annotated[float, Field(ge=1, le=100)] = 3.0


def _named(value: Any) -> Any:
    """A preset written as its bare name is the preset with its default knobs."""
    if isinstance(value, str):
        return {"preset": value}
    if not isinstance(value, dict):
        raise ValueError(f"expected a preset name like beam or full_jitter, or a mapping with preset and its knobs, "
                         f"found {value!r}")
    return value


#: A preset written by its name alone.
PresetName = Literal["beam", "none", "fixed", "exponential", "full_jitter", "equal_jitter", "decorrelated_jitter"]
#: Every preset name, in the order the docs list them.
PRESET_NAMES: tuple[str, ...] = get_args(PresetName)
#: A preset with its knobs.
Preset = Annotated[Union[BeamRetry, NoRetrySpec, FixedSpec, ExponentialSpec, DecorrelatedSpec],
                   Field(discriminator="preset")]
#: What ``bus.retry_policy`` holds: a preset, by name or with its knobs.
RetryPolicySpec = Annotated[Preset, BeforeValidator(_named, json_schema_input_type=Union[PresetName, Preset])]


class RetryBudgetSpec(Model):
    """A retry budget per sender→recipient pair, in Finagle's shape (``RetryBudget.apply``):
    every first attempt deposits, every retry withdraws; about ``percent_can_retry`` of the
    requests may be retried on top of ``min_retries_per_sec``, and deposits expire after
    ``ttl``. Defaults are Finagle's: 20 %, 10/s, 10 s."""

    percent_can_retry: Annotated[float, Field(ge=0, le=1000)] = 0.2
    min_retries_per_sec: Annotated[Count, Field(ge=0, le=1_000_000)] = 10
    ttl: Annotated[Duration, Field(ge=1, le=60)] = 10.0


class CircuitBreakerSpec(Model):
    """A circuit breaker per sender→recipient pair, in resilience4j's shape (count-based
    sliding window); defaults are resilience4j's ``CircuitBreakerConfig.ofDefaults()``."""

    failure_rate_threshold: Annotated[float, Field(gt=0, le=100)] = 50.0
    slow_call_rate_threshold: Annotated[float, Field(gt=0, le=100)] = 100.0
    slow_call_duration_threshold: PositiveDuration = 60.0
    sliding_window_size: Annotated[Count, Field(ge=1, le=100_000)] = 100
    minimum_number_of_calls: Annotated[Count, Field(ge=1, le=100_000)] = 100
    wait_duration_in_open_state: PositiveDuration = 60.0
    permitted_number_of_calls_in_half_open_state: Annotated[Count, Field(ge=1, le=100_000)] = 10


def _a_client_preset(policy: Any) -> Any:
    """Beam's schedule is the bus's own: a client retries with one of Brooker's presets."""
    if isinstance(policy, BeamRetry):
        raise ValueError("expected a client retry preset (none, fixed, exponential, full_jitter, equal_jitter or "
                         "decorrelated_jitter), found beam: Beam's schedule is the bus's, not a client's")
    return policy


class ClientRetrySpec(Model):
    """Client-side retries of a sender's sends straight to the directory (over HTTP or
    WebSocket), for one route or for every such route of one agent.

    ``policy`` is a retry preset (by name or with its knobs, as ``bus.retry_policy``;
    ``beam`` is the bus's own and not allowed here); ``timeout`` is how long the client
    waits for an answer before it gives up on an attempt (the SDK's ``send`` waits 30 s);
    ``retry_budget`` and ``circuit_breaker``, off unless given, guard each
    sender→recipient pair of the client as they do the bus's.
    """

    policy: Annotated[RetryPolicySpec, AfterValidator(_a_client_preset)]
    timeout: PositiveDuration = 30.0
    retry_budget: RetryBudgetSpec | None = None
    circuit_breaker: CircuitBreakerSpec | None = None

    @model_serializer(mode="wrap")
    def _without_off_guards(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for name in ("retry_budget", "circuit_breaker"):
            if data.get(name, True) is None:
                del data[name]
        return data
