"""Partner health and partner incidents (beam-model §10, ``/admin/partner-health``).

A request's health is ``critical``, ``watch`` or ``healthy`` from its linked proof intent
(state and latency, read from the world), the alerts whose sample traces include that
intent, and its attention flags. Alerts come from the alert engine as plain references
(:class:`AlertRef`, any ``(id, severity, sample nonces)`` triple, or an alert object with
``sample_traces``; see :func:`alert_ref`), so this module does not depend on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Iterable, Literal, NamedTuple, Sequence

from simulator.operator.api import ApiModel
from simulator.operator.partners import PartnerRequest, ProofIntent, attention_flags, is_follow_up_due, is_stale

if TYPE_CHECKING:
    from simulator.operator.partners import Partners

#: The partner SLA on a proof intent's latency; above it the workflow breached its target.
SLA_LATENCY_MS: Final[int] = 5000
DEFAULT_DAYS: Final[float] = 30.0
DAY: Final[float] = 86400.0
#: Incident titles, highest priority first (§10).
TITLE_DEAD_LETTER: Final[str] = "Partner workflow hit a dead letter"
TITLE_LATENCY: Final[str] = "Partner workflow breached the latency target"
TITLE_FOLLOW_UP: Final[str] = "Partner workflow needs follow-up"
TITLE_REVIEW: Final[str] = "Partner workflow needs operator review"
INCIDENT_TITLES: Final[tuple[str, ...]] = (TITLE_DEAD_LETTER, TITLE_LATENCY, TITLE_FOLLOW_UP, TITLE_REVIEW)
HEALTH_ORDER: Final[dict[str, int]] = {"critical": 0, "watch": 1, "healthy": 2}

Health = Literal["healthy", "watch", "critical"]


class AlertRef(NamedTuple):
    """What partner health needs of an alert: its id, severity and sample trace nonces."""

    id: str
    severity: str
    sample_nonces: Sequence[str]


class Incident(ApiModel):
    """A partner incident: a request whose health is not ``healthy``."""

    request_id: int
    company: str | None
    title: str
    severity: Health
    reasons: tuple[str, ...]
    linked_alert: str | None
    proof_intent_nonce: str | None
    proof_status: str | None
    latency_ms: int | None
    owner: str | None
    next_action: str | None


class PartnerHealth(ApiModel):
    """One request's health, the reasons for it, and its incident (None when healthy)."""

    request_id: int
    company: str | None
    stage: str
    owner: str | None
    health: Health
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    proof: ProofIntent | None
    linked_alerts: tuple[str, ...]
    incident: Incident | None


class HealthReport(ApiModel):
    """``GET /admin/partner-health``: counts by health, every request, the incidents."""

    generated_at: float
    days: float
    counts: dict[str, int]
    requests: list[PartnerHealth]
    incidents: list[Incident]


def alert_ref(alert: Any) -> AlertRef:
    """An :class:`AlertRef` from an ``(id, severity, sample nonces)`` triple, or from an
    alert object with ``id``, ``severity`` and ``sample_nonces`` or ``sample_traces``
    (items with a ``nonce``)."""
    if isinstance(alert, tuple):
        alert_id, severity, samples = alert
        return AlertRef(alert_id, severity, tuple(samples))
    samples = getattr(alert, "sample_nonces", None)
    if samples is None:
        samples = [sample.nonce for sample in alert.sample_traces]
    return AlertRef(alert.id, alert.severity, tuple(samples))


def linked_alerts(request: PartnerRequest, alerts: Iterable[tuple[str, str, Sequence[str]]]) -> list[AlertRef]:
    """The alerts (in the order given) whose sample traces include the request's proof intent."""
    nonce = request.proof_intent_nonce
    if nonce is None:
        return []
    return [AlertRef(alert_id, severity, samples) for alert_id, severity, samples in alerts if nonce in samples]


def incident_title(proof: ProofIntent | None, follow_up_due: bool) -> str:
    """The highest-priority title that applies: a dead-lettered proof, then a proof over the
    latency SLA, then a follow-up due, otherwise operator review."""
    if proof is not None and proof.status == "dead_letter":
        return TITLE_DEAD_LETTER
    if proof is not None and proof.latency_ms is not None and proof.latency_ms > SLA_LATENCY_MS:
        return TITLE_LATENCY
    if follow_up_due:
        return TITLE_FOLLOW_UP
    return TITLE_REVIEW


def assess(request: PartnerRequest, proof: ProofIntent | None,
           alerts: Iterable[tuple[str, str, Sequence[str]]], now: float) -> PartnerHealth:
    """Judge one request at ``now`` (§10).

    ``critical``: the proof intent is dead_letter or failed, a linked alert is critical,
    or the request is active with a follow-up due. ``watch``: the proof's latency is over
    5000 ms, a linked alert is a warning, the request is stale or has a follow-up due, or
    it has any attention flag. Otherwise ``healthy``.
    """
    links = linked_alerts(request, alerts)
    flags = attention_flags(request, now)
    follow_up = is_follow_up_due(request, now)
    critical: list[str] = []
    if proof is not None and proof.status in ("dead_letter", "failed"):
        critical.append(f"proof_{proof.status}")
    critical += [f"critical_alert:{alert.id}" for alert in links if alert.severity == "critical"]
    if request.status == "active" and follow_up:
        critical.append("active_follow_up_due")
    watch: list[str] = []
    if proof is not None and proof.latency_ms is not None and proof.latency_ms > SLA_LATENCY_MS:
        watch.append("latency_over_sla")
    watch += [f"warning_alert:{alert.id}" for alert in links if alert.severity == "warning"]
    if is_stale(request, now):
        watch.append("stale")
    if follow_up:
        watch.append("follow_up_due")
    watch += [flag for flag in flags if flag not in watch]
    health: Health = "critical" if critical else "watch" if watch else "healthy"
    reasons = tuple(critical + watch)
    incident = None
    if health != "healthy":
        incident = Incident(
            request_id=request.id, company=request.company, title=incident_title(proof, follow_up), severity=health,
            reasons=reasons, linked_alert=links[0].id if links else None,
            proof_intent_nonce=request.proof_intent_nonce, proof_status=proof.status if proof else None,
            latency_ms=proof.latency_ms if proof else None, owner=request.owner, next_action=request.next_action)
    return PartnerHealth(request_id=request.id, company=request.company, stage=request.status, owner=request.owner,
                         health=health, reasons=reasons, flags=tuple(flags), proof=proof,
                         linked_alerts=tuple(alert.id for alert in links), incident=incident)


def health_report(partners: Partners, alerts: Iterable[Any] = (), days: float = DEFAULT_DAYS) -> HealthReport:
    """Health of every request not closed and updated within ``days``, worst first.

    ``alerts`` are the alerts firing now (the alert engine evaluates them over its 24 h
    window), in the engine's order, in any form :func:`alert_ref` reads: the first one
    linked to a request is its incident's ``linkedAlert``.
    """
    now = partners.env.now
    refs = [alert_ref(alert) for alert in alerts]
    cutoff = now - days * DAY
    judged = [assess(request, partners.proof(request), refs, now) for request in partners.all()
              if request.status != "closed" and request.updated_at >= cutoff]
    judged.sort(key=lambda item: (HEALTH_ORDER[item.health], item.request_id))
    counts = {health: sum(1 for item in judged if item.health == health) for health in HEALTH_ORDER}
    return HealthReport(generated_at=now, days=days, counts=counts, requests=judged,
                        incidents=[item.incident for item in judged if item.incident is not None])
