"""Probe specs: what a drill observes in the world (one fact each) and how it compares the
observation with what the runbook expects. Probes are a tagged union on ``probe:``; what
each one reads is :mod:`drills.executor.observe`."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from simulator.kernel.fields import BeamId, Count, ItemKey, Model, NonEmpty
from simulator.kernel.units import Duration

Expected = Union[bool, int, float, str, list[str], None]
Path_ = Literal["directory", "bus"]
WorkflowStep = Literal["quote", "inventory", "preflight"]

_COMPARISONS = ("equals", "one_of", "at_least", "at_most", "contains")


class Comparison(Model):
    """What a probe's observed value must be: ``equals``, ``one_of``, ``at_least`` and/or
    ``at_most``, or ``contains`` (a substring of a text, or a member of a list)."""

    equals: Expected = None
    one_of: list[Expected] | None = None
    at_least: float | None = None
    at_most: float | None = None
    contains: str | None = None

    @model_serializer(mode="wrap")
    def _only_the_comparison_given(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Dumped, a probe keeps only the comparison it was given, so the dump reads back as
        the same probe (``equals: null`` is a comparison; an unset ``equals`` is none)."""
        dumped = handler(self)
        if isinstance(dumped, dict):
            for name in _COMPARISONS:
                if name not in self.model_fields_set:
                    dumped.pop(name, None)
        return dumped

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
    run: Annotated[Count, Field(ge=0)] = 0
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
    """True when the bus scheduled at least one retry and every delay is one the scenario's
    retry policy could choose (Beam's §4.4 delay exactly, by default)."""

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
    run: Annotated[Count, Field(ge=0)] = 0
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


#: What a ``history`` probe may count (:mod:`simulator.history`).
HistoryCountName = Literal["attempted", "acknowledged", "ok", "lost", "recovered", "failed", "dead_lettered", "refused",
                           "in_flight", "duplicated", "duplicate_runs", "unexpected", "lost_in_restore"]


class HistoryCount(ProbeBase):
    """A count of the delivery history, Jepsen style, as it stands: ``lost``, ``duplicated``,
    ``unexpected``, ``recovered``, ``in_flight`` and the other outcomes (README, "The
    delivery history")."""

    probe: Literal["history"]
    count: HistoryCountName

    @model_validator(mode="after")
    def _a_number(self) -> "HistoryCount":
        given = self.model_fields_set
        if "contains" in given:
            raise ValueError("expected a count compared with equals, one_of, at_least or at_most, found contains")
        wanted = [self.equals] if "equals" in given else list(self.one_of or []) if "one_of" in given else []
        for value in wanted:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"expected a whole number of intents to compare {self.count} with, found {value!r}")
        return self


class RestoreMeasure(ProbeBase):
    """A measure of the ``restore``-th restore (-1: the latest; None before it is done):
    ``rto_seconds`` (disaster to the first intent served again), ``lost`` (intents the
    restore dropped, both paths; ``lost_bus``, ``lost_directory``), ``recovered_by_retry``
    (lost ones a sender's retry got admitted again), ``unrecovered``, ``rolled_back`` (rows
    put back in an earlier state), ``digests_match`` (the stores' checksums equal the
    backup's right after the restore); or ``backups_taken``, ``restores`` (how many)."""

    probe: Literal["restore"]
    field: Literal["rto_seconds", "lost", "lost_bus", "lost_directory", "recovered_by_retry", "unrecovered",
                   "rolled_back", "digests_match", "backups_taken", "restores"]
    restore: int = -1


class Unchanged(ProbeBase):
    """Whether a ``field`` of what a ``capture`` step captured as ``since`` is the same now:
    observes ``unchanged``, or ``BEFORE -> NOW``. Fields: ``request_id``, ``request_status``,
    ``owner``, ``proof_nonce`` (of every partner request), ``partner_health`` (the counts by
    health), ``bus_stats`` (``GET /v1/beam/stats``), ``stores`` (the checksums of the stores)."""

    probe: Literal["unchanged"]
    since: NonEmpty
    field: Literal["request_id", "request_status", "owner", "proof_nonce", "partner_health", "bus_stats", "stores"]


Probe = Annotated[
    Union[TraceStatus, ErrorOf, RetryCount, RetrySchedule, ShieldDecision, Guidance, WorkflowField, AlertSeverity, AlertsFiring,
          AlertRelated, InboxItem, InboxCount, DeadLetters, BusStats, ShieldDecisions, ErrorCount, AuditCount,
          PartnerHealth, Invariant, HistoryCount, RestoreMeasure, Unchanged],
    Field(discriminator="probe"),
]
