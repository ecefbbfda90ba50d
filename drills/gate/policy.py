"""The rollout checklist policy ``beamdrill gate`` reads, in the seed chapter's shape::

    rollout:
      require: [trace_coverage, policy_prechecks, capability_owners, offline_eval_pass, slo_defined, rollback_plan, oncall_owner]
      rollout_mode: {initial: canary, max_tenant_exposure_pct: 5, require_shadow_period: true}
      block_if: [unknown_side_effect_path_missing, direct_tool_access_present, policy_decisions_not_traced]

An unknown key, requirement or block condition is an input error (one line, exit 2), never a
silent pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal, get_args

from pydantic import Field, ValidationError

from simulator import InputError
from simulator.kernel.fields import Model
from simulator.kernel.problems import validation_problems
from simulator.kernel.yamlfile import read_yaml_mapping

Requirement = Literal["trace_coverage", "policy_prechecks", "capability_owners", "offline_eval_pass", "slo_defined",
                      "rollback_plan", "oncall_owner"]
BlockCondition = Literal["unknown_side_effect_path_missing", "direct_tool_access_present",
                         "policy_decisions_not_traced"]
REQUIREMENTS: Final[tuple[str, ...]] = get_args(Requirement)
BLOCK_CONDITIONS: Final[tuple[str, ...]] = get_args(BlockCondition)


class PolicyError(InputError):
    """A gate policy file failed to load or validate."""


class RolloutMode(Model):
    """How the rollout must start: a canary whose first step exposes at most
    ``max_tenant_exposure_pct`` percent of the tenants, after a shadow period if required."""

    initial: Literal["canary"]
    max_tenant_exposure_pct: Annotated[float, Field(gt=0, le=100)]
    require_shadow_period: bool = False


class RolloutChecklist(Model):
    """What must hold before a rollout (``require``), how it starts, and what blocks it."""

    require: list[Requirement]
    rollout_mode: RolloutMode | None = None
    block_if: list[BlockCondition] = Field(default_factory=list)


class GatePolicy(Model):
    """A rollout checklist policy file."""

    rollout: RolloutChecklist


def load_policy(path: Path) -> GatePolicy:
    """Read and validate a policy file; raise :class:`PolicyError` naming every problem."""
    data = read_yaml_mapping(path, PolicyError)
    try:
        return GatePolicy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(validation_problems(error, str(path), GatePolicy)) from None
