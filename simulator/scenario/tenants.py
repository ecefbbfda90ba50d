"""Tenants: the organisations whose agents share a Beam network.

A tenant is the organisation part of a Beam id: ``sales@acme.beam.directory`` belongs to
``acme`` (the first label of the domain). A scenario may declare tenants with a traffic
weight, a factor on the rate of every route its agents send; an undeclared tenant keeps its
routes' rates as written. Canary rollouts expose a change to a cohort of tenants.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field, StringConstraints

from simulator.kernel.fields import Model

TENANT_PATTERN: Final[str] = r"^[A-Za-z0-9_-]+$"
#: A tenant's name: the first label of a Beam id's domain.
TenantName = Annotated[str, StringConstraints(pattern=TENANT_PATTERN, max_length=100)]


def tenant_of(beam_id: str) -> str:
    """The tenant (organisation) of a Beam id: the first label of its domain."""
    return beam_id.partition("@")[2].split(".", 1)[0]


class TenantSpec(Model):
    """One tenant and its traffic weight: a factor on the rate of every route whose sender
    belongs to it (1 keeps the rates as written)."""

    name: TenantName
    weight: Annotated[float, Field(gt=0, le=1000)] = 1.0
