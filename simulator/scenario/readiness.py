"""What a scenario may declare about launch readiness: service-level objectives with
multi-window burn-rate alerts, the capability template (the seed's seven questions per agent
capability), the operations block (who is on call) and partner requests with their go-live
plan (Beam's six go-live prerequisites, beam-model §10, §12).

All of it is optional: a scenario that declares none of it resolves exactly as before.
:func:`missing_prerequisites` is the one rule for which prerequisites a plan leaves open;
the world records them on the request and the readiness gate reports them.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints, model_validator

from simulator.kernel.fields import BeamId, Model, NonEmpty
from simulator.kernel.units import Duration, PositiveDuration


class BurnRateAlert(Model):
    """A multi-window burn-rate alert (the SRE workbook's): it fires when the error budget
    burns ``factor`` times faster than sustainable over both the long and the short window."""

    long_window: PositiveDuration
    short_window: PositiveDuration
    factor: Annotated[float, Field(gt=0, le=10_000)]
    severity: Literal["page", "ticket"] = "page"

    @model_validator(mode="after")
    def _short_inside_long(self) -> BurnRateAlert:
        if self.short_window >= self.long_window:
            raise ValueError(f"expected short_window shorter than long_window, found {self.short_window:g} s "
                             f"and {self.long_window:g} s")
        return self


class SloSpec(Model):
    """A service-level objective: the share of intents that must succeed (availability) or
    finish within ``latency_threshold`` (latency) over ``window``."""

    name: NonEmpty
    kind: Literal["availability", "latency"]
    objective: Annotated[float, Field(gt=0, lt=1)]
    latency_threshold: PositiveDuration | None = None
    window: PositiveDuration = 30 * 86_400.0
    burn_rate_alerts: list[BurnRateAlert] = Field(default_factory=list)

    @model_validator(mode="after")
    def _threshold_for_latency(self) -> SloSpec:
        if self.kind == "latency" and self.latency_threshold is None:
            raise ValueError(f"latency objective {self.name!r} needs a latency_threshold")
        if self.kind == "availability" and self.latency_threshold is not None:
            raise ValueError(f"availability objective {self.name!r} takes no latency_threshold")
        return self


def burn_alert_id(slo: SloSpec, alert: BurnRateAlert) -> str:
    """The alert id of one of ``slo``'s burn-rate alerts: ``slo-<name>-burn-<long>s-<short>s``
    (what the simulator's alert engine raises and the generated Prometheus rules name)."""
    return f"slo-{slo.name}-burn-{alert.long_window:g}s-{alert.short_window:g}s"


class CapabilitySpec(Model):
    """One agent capability answered the seed's seven questions: who owns it, how it is
    reached (``direct``: a tool called straight, not through Beam), its timeout, retry
    policy, idempotency strategy, the path of an unknown side effect, and its outcome
    telemetry. An unanswered question is left out (None)."""

    agent: BeamId
    capability: NonEmpty
    owner: str | None = None
    transport: Literal["ws", "http", "bus", "direct"] | None = None
    timeout: Duration | None = None
    retry_policy: str | None = None
    idempotency: str | None = None
    unknown_side_effect_path: str | None = None
    outcome_telemetry: str | None = None


class OperationsSpec(Model):
    """Who runs the service: the on-call owner and where to escalate."""

    oncall_owner: str | None = None
    escalation: str | None = None


class GoLiveWindow(Model):
    """The go-live window: who owns it, when it is and how it is rolled back."""

    owner: str | None = None
    date: str | None = None
    rollback_path: str | None = None


class GoLivePlan(Model):
    """A partner request's go-live plan: the six prerequisites' answers, and the exit
    records (proof recap sent, the next decision)."""

    workflow_owner: str | None = None
    sender: BeamId | None = None
    receiver: BeamId | None = None
    success_metric: str | None = None
    security_review: str | None = None
    window: GoLiveWindow | None = None
    proof_recipients: list[NonEmpty] = Field(default_factory=list)
    proof_recap_sent: bool = False
    next_decision: Literal["expand", "narrow", "pause"] | None = None


class PartnerRequestSpec(Model):
    """A partner request the world takes in at ``at`` (``POST /waitlist``), then an operator
    records its owner and the prerequisites its go-live plan leaves open."""

    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")]
    company: str | None = None
    workflow_type: str | None = None
    owner: str | None = None
    at: Duration = 0.0
    go_live: GoLivePlan = Field(default_factory=GoLivePlan)


#: Each go-live prerequisite (Beam's key), and the next action that closes it.
PREREQUISITE_ACTIONS: Final[dict[str, str]] = {
    "workflow_owner_confirmed": "Confirm the workflow owner with the partner",
    "sender_receiver_confirmed": "Confirm the sender and receiver agents",
    "success_metric_confirmed": "Agree the success metric",
    "security_review_confirmed": "Complete the security review",
    "go_live_window_confirmed": "Fix the go-live window: owner, date and rollback path",
    "proof_recipients_confirmed": "Name the proof recipients",
}


def missing_prerequisites(plan: GoLivePlan) -> list[str]:
    """The prerequisites ``plan`` leaves open, in Beam's order."""
    window = plan.window
    answered = {
        "workflow_owner_confirmed": bool(plan.workflow_owner),
        "sender_receiver_confirmed": bool(plan.sender and plan.receiver),
        "success_metric_confirmed": bool(plan.success_metric),
        "security_review_confirmed": bool(plan.security_review),
        "go_live_window_confirmed": window is not None and bool(window.owner and window.date and window.rollback_path),
        "proof_recipients_confirmed": bool(plan.proof_recipients),
    }
    return [key for key, done in answered.items() if not done]
