"""Operator step specs: what an operator does during a drill, at a virtual time. Steps are
a tagged union on ``action:``; how each is done is :mod:`drills.executor.actions`."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, StringConstraints

from simulator.kernel.fields import BeamId, Count, ItemKey, Model, NonEmpty
from simulator.kernel.units import Duration
from simulator.scenario.parts import AclEntry


class StepBase(Model):
    """An operator step, played ``at`` a virtual time (rollbacks run at the end, in order)."""

    at: Duration | None = None
    name: str | None = None


class Acknowledge(StepBase):
    """Acknowledge an inbox item, optionally recording an owner and next action."""

    action: Literal["acknowledge"]
    item: ItemKey
    owner: str | None = None
    next_action: str | None = None


class SetOwner(StepBase):
    """Record an owner and next action on an inbox item (and a status, when given)."""

    action: Literal["set_owner"]
    item: ItemKey
    owner: NonEmpty
    next_action: NonEmpty
    status: Literal["new", "acknowledged", "acted"] | None = None


class ExportEvidence(StepBase):
    """Export datasets read-only, as evidence (§9.6); the files go into ``evidence/``."""

    action: Literal["export_evidence"]
    datasets: Annotated[list[Literal["intents", "audit", "errors", "federation", "alerts", "dead_letters"]],
                        Field(min_length=1)] = ["intents", "audit", "dead_letters"]
    format: Literal["json", "csv", "ndjson"] = "json"


class FixRootCause(StepBase):
    """Fix the root cause: revert the named fault now."""

    action: Literal["fix_root_cause"]
    fault: NonEmpty


class RequeueDeadLetters(StepBase):
    """Requeue every dead letter (to ``recipient`` when given) with its original nonce."""

    action: Literal["requeue_dead_letters"]
    recipient: BeamId | None = None


class Prune(StepBase):
    """Prune a dataset as admin; ``confirm_phrase`` defaults to the exact ``prune <dataset>``."""

    action: Literal["prune"]
    dataset: Literal["intents", "traces", "audit", "shield"]
    older_than_days: Annotated[float, Field(ge=0)] | None = None
    confirm_phrase: str | None = None


class AddAclEntry(StepBase):
    """Add an ACL row (``POST /acl``)."""

    action: Literal["add_acl_entry"]
    target: BeamId
    intent: NonEmpty
    allowed_from: NonEmpty

    def entry(self) -> AclEntry:
        """The row this step adds."""
        return AclEntry(target=self.target, intent=self.intent, allowed_from=self.allowed_from)


class Send(StepBase):
    """Send ``count`` intents ``every`` apart, over HTTP, WebSocket or the bus. Nonces are
    ``<nonce_prefix><i>`` (i from 0) when a prefix is given, else generated."""

    action: Literal["send"]
    sender: BeamId = Field(alias="from")
    recipient: BeamId = Field(alias="to")
    intent: NonEmpty
    via: Literal["http", "ws", "bus"] = "http"
    count: Annotated[Count, Field(ge=1, le=100_000)] = 1
    every: Duration = 0.0
    nonce_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class PartnerRequestStep(StepBase):
    """Create a partner request (``POST /waitlist``) and patch it as an operator (§10).
    In ``patch``, ``proofIntentNonce`` may name a workflow step as ``step:preflight``."""

    action: Literal["partner_request"]
    email: NonEmpty
    company: str | None = None
    agent_count: Annotated[Count, Field(ge=1)] | None = None
    workflow_type: str | None = None
    patch: dict[str, Any] = Field(default_factory=dict)


class BackupStores(StepBase):
    """Back up the bus and directory stores now (a consistent snapshot, as Beam's drill
    copies each database with its WAL); ``label`` names it for a later restore."""

    action: Literal["backup"]
    label: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]+$")] | None = None


class RestoreStores(StepBase):
    """Stop both services, and after ``downtime`` restore both stores from ``backup``
    (``latest``, or a backup's id or label) and start both (restart recovery runs)."""

    action: Literal["restore"]
    backup: NonEmpty = "latest"
    downtime: Duration = 0.0


class SeedRow(StepBase):
    """Write one row straight into a store, as Beam's drill scripts seed their databases:
    a bus message or a directory ``intent_log`` row in ``status`` (with ``error``: the bus's
    text, the directory's code, for a failed or dead-lettered row)."""

    action: Literal["seed_row"]
    store: Literal["bus", "directory"]
    sender: BeamId = Field(alias="from")
    recipient: BeamId = Field(alias="to")
    intent: NonEmpty
    nonce: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]+$")]
    status: Literal["received", "validated", "queued", "dispatched", "delivered", "acked", "failed", "dead_letter"]
    error: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class Capture(StepBase):
    """Capture what the backup/restore drill compares (§12): every partner request's id,
    status, owner and proof nonce, partner health counts and the bus stats, as ``label``."""

    action: Literal["capture"]
    label: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]+$")]


Step = Annotated[
    Union[Acknowledge, SetOwner, ExportEvidence, FixRootCause, RequeueDeadLetters, Prune, AddAclEntry, Send,
          PartnerRequestStep, BackupStores, RestoreStores, SeedRow, Capture],
    Field(discriminator="action"),
]
