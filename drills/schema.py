"""Drill files: the pydantic schema of a fire drill.

A drill names the runbook failure mode it rehearses, the scenario it runs on (a path,
plus optional overrides), the faults it injects, the operator steps it plays at virtual
times, the expectations it checks at times or by deadlines, the steady state that must
hold before the method and after the rollbacks, and the guards that abort it. Probes,
steps and faults are tagged unions (``probe:``, ``action:``, ``kind:``), so every
problem in a file is reported with its field path (:mod:`drills.drillfile`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, StringConstraints, model_validator

from simulator.scenario.faults import FaultSpec
from simulator.kernel.fields import BeamId, ItemKey, Model
from simulator.scenario.parts import AclEntry
from simulator.kernel.units import Duration

#: What a drill rehearses: the runbook's five failure modes (§9.5), the clean demo, and
#: the production and restart-recovery drills of §12.
Rehearses = Literal["clean-demo", "stuck-delivered", "queued-retries", "dead-letter", "forbidden-acl",
                    "rate-limit-shield", "fire-drill", "restart-recovery"]
Expected = Union[bool, int, float, str, list[str], None]
Path_ = Literal["directory", "bus"]
WorkflowStep = Literal["quote", "inventory", "preflight"]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]

_COMPARISONS = ("equals", "one_of", "at_least", "at_most", "contains")


class Comparison(Model):
    """What a probe's observed value must be: ``equals``, ``one_of``, ``at_least`` and/or
    ``at_most``, or ``contains`` (a substring of a text, or a member of a list)."""

    equals: Expected = None
    one_of: list[Expected] | None = None
    at_least: float | None = None
    at_most: float | None = None
    contains: str | None = None

    @model_validator(mode="after")
    def _one_comparison(self) -> "Comparison":
        given = [name for name in _COMPARISONS if name in self.model_fields_set]
        if not given:
            raise ValueError(f"expected one of {', '.join(_COMPARISONS)}: what the observed value must be")
        if len(given) > 1 and set(given) != {"at_least", "at_most"}:
            raise ValueError(f"expected one comparison (at_least with at_most is the one pair), found {', '.join(given)}")
        return self

    def holds(self, observed: Any) -> bool:
        """Whether ``observed`` satisfies the comparison."""
        given = self.model_fields_set
        if "equals" in given:
            return bool(observed == self.equals)
        if "one_of" in given:
            return observed in (self.one_of or [])
        if "contains" in given:
            return isinstance(observed, (str, list)) and self.contains in observed
        if not isinstance(observed, (int, float)) or isinstance(observed, bool):
            return False
        return ((self.at_least is None or observed >= self.at_least)
                and (self.at_most is None or observed <= self.at_most))

    def describe(self) -> str:
        """The expectation as a short phrase: ``= acked``, ``≥ 5``, ``contains 'x'``."""
        given = self.model_fields_set
        if "equals" in given:
            return f"= {self.equals!r}" if not isinstance(self.equals, str) else f"= {self.equals}"
        if "one_of" in given:
            return f"one of {self.one_of}"
        if "contains" in given:
            return f"contains {self.contains!r}"
        parts = []
        if self.at_least is not None:
            parts.append(f"≥ {self.at_least:g}")
        if self.at_most is not None:
            parts.append(f"≤ {self.at_most:g}")
        return " and ".join(parts)


class ProbeBase(Comparison):
    """A probe: something observed in the world, compared with what the runbook expects.

    As an expectation it is checked ``at`` a virtual time, or repeatedly from ``after``
    until it holds ``by`` a deadline. Steady-state probes and guards take neither.
    """

    name: str | None = None
    at: Duration | None = None
    by: Duration | None = None
    after: Duration = 0.0

    @model_validator(mode="after")
    def _timing(self) -> "ProbeBase":
        if self.at is not None and self.by is not None:
            raise ValueError("expected either at (check once) or by (a deadline), not both")
        if self.by is not None and self.by < self.after:
            raise ValueError(f"expected by ≥ after, found by {self.by:g} s before after {self.after:g} s")
        return self


class NonceTarget(ProbeBase):
    """A probe about one intent: a literal ``nonce`` or a ``step`` of the ``run``-th quote
    workflow (0 is the first), on the directory or the bus ``path``."""

    nonce: NonEmpty | None = None
    step: WorkflowStep | None = None
    run: Annotated[int, Field(ge=0)] = 0
    path: Path_ = "directory"

    @model_validator(mode="after")
    def _one_target(self) -> "NonceTarget":
        if (self.nonce is None) == (self.step is None):
            raise ValueError("expected either nonce or step (quote, inventory, preflight), exactly one")
        return self


class TraceStatus(NonceTarget):
    """The intent's lifecycle status on its path (None while the path has no row)."""

    probe: Literal["trace_status"]


class ErrorOf(NonceTarget):
    """The intent's error: the directory row's code, or the bus row's error text."""

    probe: Literal["error"]


class RetryCount(NonceTarget):
    """The bus row's ``retry_count``."""

    probe: Literal["retry_count"]
    path: Literal["bus"] = "bus"


class RetrySchedule(NonceTarget):
    """True when the bus scheduled at least one retry and every delay is Beam's (§4.4)."""

    probe: Literal["retry_schedule"]
    path: Literal["bus"] = "bus"


class ShieldDecision(NonceTarget):
    """The newest Shield decision (pass, hold, reject) on the intent, None if none."""

    probe: Literal["shield_decision"]


class Guidance(NonceTarget):
    """The runbook guidance the trace page gives for the intent (§9.5)."""

    probe: Literal["guidance"]


class WorkflowField(ProbeBase):
    """A field of the ``run``-th quote workflow's report (``total_price_eur``, ``quote_status``...)."""

    probe: Literal["workflow"]
    run: Annotated[int, Field(ge=0)] = 0
    field: Literal["quote_status", "quote_http_status", "quote_error_code", "total_price_eur", "inventory_status",
                   "available", "preflight_bus_status", "preflight_directory_status", "preflight_http_status",
                   "finance_received", "acknowledgement", "terminal"]


class AlertSeverity(ProbeBase):
    """The severity of alert ``id`` at the last evaluation (None when it is not firing)."""

    probe: Literal["alert"]
    id: NonEmpty


class AlertsFiring(ProbeBase):
    """How many alerts fire at the last evaluation."""

    probe: Literal["alerts_firing"]


class AlertRelated(ProbeBase):
    """The companies of the partner requests alert ``id`` lists as related (a read, §9.3)."""

    probe: Literal["alert_related"]
    id: NonEmpty


class InboxItem(ProbeBase):
    """A field of the inbox item with ``key`` (None when there is no such item)."""

    probe: Literal["inbox_item"]
    key: ItemKey
    field: Literal["status", "owner", "next_action", "severity"] = "status"


class InboxCount(ProbeBase):
    """How many inbox items are in ``status``."""

    probe: Literal["inbox_count"]
    status: Literal["new", "acknowledged", "acted"]


class DeadLetters(ProbeBase):
    """How many bus rows are in ``dead_letter`` now (to ``recipient`` when given)."""

    probe: Literal["dead_letters"]
    recipient: BeamId | None = None


class BusStats(ProbeBase):
    """A field of ``GET /v1/beam/stats`` (§4.8)."""

    probe: Literal["bus_stats"]
    field: NonEmpty


class ShieldDecisions(ProbeBase):
    """How many Shield rows of ``decision`` the directory wrote."""

    probe: Literal["shield_decisions"]
    decision: Literal["pass", "hold", "reject"]


class ErrorCount(ProbeBase):
    """How many failures with ``code`` senders saw on ``path``: failed rows and refusals."""

    probe: Literal["error_count"]
    code: NonEmpty
    path: Path_ = "directory"


class AuditCount(ProbeBase):
    """How many audit rows have ``action`` (and mention ``mentions``, when given)."""

    probe: Literal["audit"]
    action: NonEmpty
    mentions: str | None = None


class PartnerHealth(ProbeBase):
    """Partner health of the request from ``email``: its ``health`` or its incident title."""

    probe: Literal["partner_health"]
    email: NonEmpty
    field: Literal["health", "incident"] = "health"


class Invariant(ProbeBase):
    """A world invariant: ``conservation`` observes ``held`` or the problems found."""

    probe: Literal["invariant"]
    invariant: Literal["conservation"] = "conservation"


Probe = Annotated[
    Union[TraceStatus, ErrorOf, RetryCount, RetrySchedule, ShieldDecision, Guidance, WorkflowField, AlertSeverity, AlertsFiring,
          AlertRelated, InboxItem, InboxCount, DeadLetters, BusStats, ShieldDecisions, ErrorCount, AuditCount,
          PartnerHealth, Invariant],
    Field(discriminator="probe"),
]


# -- operator steps ------------------------------------------------------------------------


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
    count: Annotated[int, Field(ge=1, le=100_000)] = 1
    every: Duration = 0.0
    nonce_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]+$")] | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class PartnerRequestStep(StepBase):
    """Create a partner request (``POST /waitlist``) and patch it as an operator (§10).
    In ``patch``, ``proofIntentNonce`` may name a workflow step as ``step:preflight``."""

    action: Literal["partner_request"]
    email: NonEmpty
    company: str | None = None
    agent_count: Annotated[int, Field(ge=1)] | None = None
    workflow_type: str | None = None
    patch: dict[str, Any] = Field(default_factory=dict)


Step = Annotated[
    Union[Acknowledge, SetOwner, ExportEvidence, FixRootCause, RequeueDeadLetters, Prune, AddAclEntry, Send,
          PartnerRequestStep],
    Field(discriminator="action"),
]


class SteadyState(Model):
    """Probes that must hold before the method starts and after the rollbacks."""

    before: list[Probe] = Field(default_factory=list)
    after: list[Probe] = Field(default_factory=list)


class Drill(Model):
    """One fire drill: the world, the method (faults and operator steps), the checks."""

    title: NonEmpty
    rehearses: Rehearses
    description: str = ""
    scenario: NonEmpty
    overrides: dict[str, Any] = Field(default_factory=dict)
    seed: Annotated[int, Field(ge=0)] | None = None
    duration: Duration
    settle: Duration = 0.0
    steady_state: SteadyState = SteadyState()
    faults: list[FaultSpec] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    expectations: Annotated[list[Probe], Field(min_length=1)]
    guards: list[Probe] = Field(default_factory=list)
    guard_interval: Duration = 5.0
    rollbacks: list[Step] = Field(default_factory=list)
