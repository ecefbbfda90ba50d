"""Beam's six alert rules (beam-model §9.3, ``buildAlerts``) over the observed facts.

:func:`build_alerts` is a pure read of an :class:`~simulator.operator.observations.Observations`
(already advanced to now), the federation peers and the time: it returns the
:class:`Alert` records operators see, in Beam's order (critical, then warning, then info;
creation order kept within a severity), with Beam's field names on the wire
(``valueUnit``, ``startedAt``, ``sampleTraces``...). The alert engine adds what a read
joins to them: related partner requests and the inbox state of the notification
(:meth:`Alert.joined`). Times are virtual seconds at millisecond precision.

Titles, messages, threshold explanations, severity reasons and link labels are Beam's
own texts, so an exported alert reads like the real one; links carry ``?alert=<id>`` and
are encoded as the dashboard encodes them (``URLSearchParams``, ``encodeURIComponent``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal, Sequence
from urllib.parse import quote

from pydantic import Field

from simulator.operator.api import ApiModel
from simulator.kernel.percentile import js_round
from simulator.kernel.units import to_ms
from simulator.operator.factstore import SLOW_MS, IntentFact
from simulator.operator.observations import newest

if TYPE_CHECKING:
    from simulator.operator.observations import Observations

Severity = Literal["info", "warning", "critical"]
Scope = Literal["network", "agent", "federation", "shield"]
Unit = Literal["ratio", "ms", "count"]
Surface = Literal["trace", "intents", "audit", "errors", "federation", "alerts"]
SEVERITY_ORDER: Final[dict[str, int]] = {"critical": 0, "warning": 1, "info": 2}
STALE_PEER_MS: Final[int] = 24 * 3_600_000


class FederationPeer(ApiModel):
    """A federation peer as ``federation-stale-peers`` judges it. The simulated world has
    no federation, so peers exist only when a test or a drill provides them."""

    directory_url: str
    status: str = "active"
    last_seen: float | None = None  # virtual seconds; None: never seen


class AlertLink(ApiModel):
    """A dashboard link of an alert."""

    label: str
    href: str
    surface: Surface


class AlertTraceSample(ApiModel):
    """One ``intent_log`` row shown with an alert."""

    nonce: str
    sender: str = Field(alias="from")
    recipient: str = Field(alias="to")
    intent_type: str
    requested_at: float
    status: str
    error_code: str | None


class RelatedPartnerRequest(ApiModel):
    """A partner request whose proof intent is among an alert's sample traces (§9.3)."""

    id: int
    company: str | None = None
    workflow_type: str | None = None
    stage: str
    href: str

    @classmethod
    def of(cls, request: Any) -> "RelatedPartnerRequest":
        """From any request object with ``id``, ``company``, ``workflow_type`` and a stage
        (``stage`` or ``status``)."""
        stage = getattr(request, "stage", None) or getattr(request, "status")
        return cls(id=request.id, company=getattr(request, "company", None),
                   workflow_type=getattr(request, "workflow_type", None), stage=stage,
                   href=f"/beta-requests?id={request.id}")


class Alert(ApiModel):
    """One alert as ``GET /observability/alerts`` returns it, plus the inbox state of its
    critical-alert notification when it has one."""

    id: str
    severity: Severity
    title: str
    scope: Scope
    message: str
    metric: str
    value: int | float
    threshold: int | float
    value_unit: Unit
    started_at: float
    threshold_explanation: str
    severity_reason: str
    links: tuple[AlertLink, ...]
    sample_traces: tuple[AlertTraceSample, ...]
    related_partner_requests: tuple[RelatedPartnerRequest, ...] = ()
    notification_id: int | None = None
    notification_status: str | None = None
    notification_owner: str | None = None
    notification_next_action: str | None = None

    @property
    def sample_nonces(self) -> tuple[str, ...]:
        """The nonces of the sample traces, newest first."""
        return tuple(sample.nonce for sample in self.sample_traces)

    def joined(self, related: Sequence[RelatedPartnerRequest] = (), **notification: Any) -> "Alert":
        """This alert as a read returns it: with up to three ``related`` partner requests
        and the ``notification_*`` fields of its inbox item."""
        return self.model_copy(update={"related_partner_requests": tuple(related)[:3], **notification})


#: (path, nonce to append to the path encoded or None, label, surface, params) of one
#: link; params become the query after ``alert``.
LinkSpec = tuple[str, "str | None", str, Surface, tuple[tuple[str, Any], ...]]


# -- links ---------------------------------------------------------------------------------


def form_encode(value: str) -> str:
    """Encode a query value as ``URLSearchParams`` does (space as ``+``)."""
    out: list[str] = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if byte < 128 and (char.isalnum() or char in "*-._"):
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def path_encode(value: str) -> str:
    """Encode a path segment as JavaScript's ``encodeURIComponent`` does."""
    return quote(value, safe="!~*'()")


def dashboard_href(path: str, alert_id: str, params: Sequence[tuple[str, Any]] = ()) -> str:
    """``path`` with the query ``alert=<id>`` then ``params`` (empty values left out; a
    repeated key keeps its first position and takes the last value)."""
    query: dict[str, str] = {"alert": alert_id}
    for key, value in params:
        if value is None or value == "":
            continue
        query[key] = str(value)
    return path + "?" + "&".join(f"{form_encode(key)}={form_encode(value)}" for key, value in query.items())


def _trace_links(nonce: str | None, trace_label: str, audit_label: str | None, hours: int) -> list[LinkSpec]:
    if nonce is None:
        return []
    links: list[LinkSpec] = [("/intents/", nonce, trace_label, "trace", ())]
    if audit_label is not None:
        links.append(("/audit", None, audit_label, "audit", (("target", nonce), ("hours", hours))))
    return links


def encode_links(alert_id: str, specs: Sequence[LinkSpec]) -> tuple[AlertLink, ...]:
    """The dashboard links of alert ``alert_id``, encoded."""
    return tuple(AlertLink(label=label, surface=surface,
                           href=dashboard_href(path + (path_encode(nonce) if nonce else ""), alert_id, params))
                 for path, nonce, label, surface, params in specs)


def to_sample(fact: IntentFact) -> AlertTraceSample:
    """A sample trace of an alert."""
    return AlertTraceSample.model_validate({
        "nonce": fact.nonce, "from": fact.sender, "to": fact.recipient, "intentType": fact.intent,
        "requestedAt": fact.requested_ms / 1000, "status": fact.status, "errorCode": fact.error_code})


# -- the rules -----------------------------------------------------------------------------


def _started(samples: Sequence[IntentFact], now_ms: int) -> float:
    return (samples[0].requested_ms if samples else now_ms) / 1000


def _error_rate(obs: Observations, now_ms: int, hours: int, full: bool) -> Alert | None:
    completed = obs.successes + obs.errors
    rate = obs.errors / completed if completed > 0 else 0.0
    if not (completed >= 10 and rate >= 0.1):
        return None
    critical = rate >= 0.25
    samples = obs.newest_failures() if full else []
    latest = samples[0].nonce if samples else None
    links: list[LinkSpec] = [("/intents", None, "Open failing intents", "intents",
                              (("status", "error"), ("hours", hours))),
                             *_trace_links(latest, "Open latest failing trace", "Open audit for latest failing trace",
                                           hours),
                             ("/errors", None, "Open error dashboard", "errors", (("alert", "network-error-rate"),))]
    return Alert(
        id="network-error-rate", severity="critical" if critical else "warning",
        title="Error rate exceeded threshold", scope="network",
        message=f"{int(js_round(rate * 100))}% of completed intents failed in the selected window.",
        metric="error_rate", value=js_round(rate, 4), threshold=0.1, value_unit="ratio",
        started_at=_started(samples, now_ms),
        threshold_explanation="Beam raises this alert once completed intent failures cross 10% of the selected "
                              "window.",
        severity_reason="Critical because the network error rate is at or above the 25% escalation threshold."
        if critical else "Warning because the network error rate is above the 10% investigation threshold.",
        links=encode_links("network-error-rate", links) if full else (), sample_traces=tuple(map(to_sample, samples)))


def _latency(obs: Observations, now_ms: int, hours: int, full: bool) -> Alert | None:
    if not obs.latencies.percentile_at_least(0.95, SLOW_MS):  # cheap: no alert is the usual case
        return None
    p95 = obs.latencies.percentile(0.95)
    if p95 is None:
        return None
    critical = p95 >= 5000
    samples = obs.newest_slow() if full else []
    latest = samples[0].nonce if samples else None
    links: list[LinkSpec] = [("/intents", None, "Open recent intents", "intents", (("hours", hours),)),
                             *_trace_links(latest, "Open slowest recent trace", "Open audit for latest slow trace",
                                           hours)]
    return Alert(
        id="network-latency-p95", severity="critical" if critical else "warning",
        title="p95 latency is elevated", scope="network",
        message=f"p95 intent latency is {p95}ms.",
        metric="p95_latency_ms", value=p95, threshold=2000, value_unit="ms",
        started_at=_started(samples, now_ms),
        threshold_explanation="Beam raises this alert once p95 round-trip latency crosses 2 seconds in the "
                              "selected window.",
        severity_reason="Critical because p95 latency crossed the 5 second escalation threshold." if critical
        else "Warning because p95 latency crossed the 2 second investigation threshold.",
        links=encode_links("network-latency-p95", links) if full else (), sample_traces=tuple(map(to_sample, samples)))


def _backlog(obs: Observations, now_ms: int, hours: int, full: bool) -> Alert | None:
    count = obs.backlog_count()
    if count <= 0:
        return None
    critical = count >= 5
    samples = obs.backlog_samples() if full else []
    latest = samples[0].nonce if samples else None
    links: list[LinkSpec] = [("/intents", None, "Open in-flight intents", "intents",
                              (("status", "in_flight"), ("hours", hours))),
                             *_trace_links(latest, "Open oldest in-flight trace", "Open audit for oldest in-flight trace",
                                           hours)]
    return Alert(
        id="network-in-flight-backlog", severity="critical" if critical else "warning",
        title="In-flight intent backlog detected", scope="network",
        message=f"{count} intents have remained in-flight for more than 15 minutes.",
        metric="in_flight_older_than_15m", value=count, threshold=1, value_unit="count",
        started_at=_started(samples, now_ms),
        threshold_explanation="Beam raises this alert when at least one intent has been in flight for more than "
                              "15 minutes.",
        severity_reason="Critical because five or more in-flight intents exceeded the 15 minute backlog threshold."
        if critical else "Warning because at least one in-flight intent exceeded the 15 minute backlog threshold.",
        links=encode_links("network-in-flight-backlog", links) if full else (), sample_traces=tuple(map(to_sample, samples)))


def stale_peers(peers: Sequence[FederationPeer], now_ms: int) -> int:
    """Peers whose last_seen is missing or older than 24 h, or whose status is not active."""
    cutoff = now_ms - STALE_PEER_MS
    return sum(1 for peer in peers
               if peer.last_seen is None or to_ms(peer.last_seen) < cutoff or peer.status != "active")


def _federation(peers: Sequence[FederationPeer], now_ms: int, hours: int, full: bool) -> Alert | None:
    count = stale_peers(peers, now_ms)
    if count <= 0:
        return None
    critical = count >= 2
    links: list[LinkSpec] = [("/federation", None, "Open federation health", "federation", ()),
                             ("/audit", None, "Open federation audit history", "audit",
                              (("q", "federation"), ("hours", hours)))]
    return Alert(
        id="federation-stale-peers", severity="critical" if critical else "warning",
        title="Federation peers are stale", scope="federation",
        message=f"{count} peer directories have stale sync or heartbeat data.",
        metric="stale_peers", value=count, threshold=1, value_unit="count",
        started_at=now_ms / 1000,
        threshold_explanation="Beam raises this alert when at least one federated peer is stale or has stopped "
                              "syncing.",
        severity_reason="Critical because two or more federation peers are stale." if critical
        else "Warning because at least one federation peer is stale.",
        links=encode_links("federation-stale-peers", links) if full else (), sample_traces=())


def _shield(obs: Observations, now_ms: int, hours: int, full: bool) -> Alert | None:
    held, rejected = obs.shield_counts
    if not (rejected >= 3 or held >= 5):
        return None
    critical = rejected >= 5
    samples: list[IntentFact] = []
    if full:
        rows = (obs.rows.get(nonce) for nonce in obs.newest_flagged_nonces())
        samples = newest(obs.fact_of(row) for row in rows if row is not None)
    latest = samples[0].nonce if samples else None
    links: list[LinkSpec] = [("/audit", None, "Open Shield audit history", "audit", (("q", "shield"), ("hours", hours))),
                             *_trace_links(latest, "Open latest flagged trace", None, hours),
                             ("/alerts", None, "Open alert feed", "alerts", (("hours", hours),))]
    return Alert(
        id="shield-review-load", severity="critical" if critical else "warning",
        title="Shield is flagging elevated traffic", scope="shield",
        message=f"{rejected} rejects and {held} holds were recorded in the selected window.",
        metric="shield_flagged_events", value=rejected + held, threshold=5, value_unit="count",
        started_at=_started(samples, now_ms),
        threshold_explanation="Beam raises this alert when Shield records at least three rejects or five held "
                              "requests in the selected window.",
        severity_reason="Critical because Shield recorded five or more rejected requests." if critical
        else "Warning because Shield review volume crossed the hold and reject thresholds.",
        links=encode_links("shield-review-load", links) if full else (), sample_traces=tuple(map(to_sample, samples)))


def top_error_code(obs: Observations) -> tuple[str, int] | None:
    """The most frequent error-code label among failed rows in the window, ties going to
    the code Beam's error view meets first (its oldest row by ``requested_at``, id)."""
    if not obs.codes:
        return None
    best = max(obs.codes.values())
    tied = [label for label, count in obs.codes.items() if count == best]
    if len(tied) > 1:
        first = obs.first_seen(tied)
        tied.sort(key=lambda label: first[label])
    return tied[0], best


def _hotspot(obs: Observations, now_ms: int, hours: int, full: bool) -> Alert | None:
    top = top_error_code(obs)
    if top is None or top[1] < 5:
        return None
    code, count = top
    alert_id = f"error-hotspot-{code.lower()}"
    critical = count >= 10
    samples = obs.newest_failures(code=code) if full else []
    last_seen = obs.newest_failures(label=code, limit=1) if full else []
    latest = samples[0].nonce if samples else None
    links: list[LinkSpec] = [("/intents", None, f"Open {code} intents", "intents",
                              (("status", "error"), ("q", code), ("hours", hours))),
                             *_trace_links(latest, "Open latest hotspot trace", "Open audit for latest hotspot trace",
                                           hours),
                             ("/errors", None, "Open error analytics", "errors", (("alert", alert_id),))]
    return Alert(
        id=alert_id, severity="critical" if critical else "warning",
        title=f"Error hotspot: {code}", scope="agent",
        message=f"{count} intents failed with {code}.",
        metric="error_code_count", value=count, threshold=5, value_unit="count",
        started_at=_started(last_seen, now_ms),
        threshold_explanation="Beam raises this alert when the same error code occurs at least five times in the "
                              "selected window.",
        severity_reason=f"Critical because {code} crossed the 10 failure escalation threshold." if critical
        else f"Warning because {code} crossed the 5 failure investigation threshold.",
        links=encode_links(alert_id, links) if full else (), sample_traces=tuple(map(to_sample, samples)))


def build_alerts(obs: Observations, peers: Sequence[FederationPeer], now: float,
                 full: bool = True) -> list[Alert]:
    """Every alert firing now, critical first, then warning, then info, in creation order
    within a severity. ``obs`` must have been advanced to ``now``.

    ``full`` False computes only what decides and describes each alert (id, severity,
    value, texts): no sample traces, no links and ``startedAt`` now. The engine's
    periodic evaluation uses it; every read is full."""
    now_ms, hours = to_ms(now), obs.window_hours
    alerts: list[Alert | None] = []
    # Each rule's own check repeats these cheap preconditions; skipping the call when they
    # fail keeps the engine's 15-second evaluation light.
    if obs.errors and obs.successes + obs.errors >= 10:
        alerts.append(_error_rate(obs, now_ms, hours, full))
    if obs.latencies.count:
        alerts.append(_latency(obs, now_ms, hours, full))
    if obs.backlog_count():
        alerts.append(_backlog(obs, now_ms, hours, full))
    if peers:
        alerts.append(_federation(peers, now_ms, hours, full))
    holds, rejects = obs.shield_counts
    if rejects >= 3 or holds >= 5:
        alerts.append(_shield(obs, now_ms, hours, full))
    if obs.codes:
        alerts.append(_hotspot(obs, now_ms, hours, full))
    found = [alert for alert in alerts if alert is not None]
    if len(found) > 1:
        found.sort(key=lambda alert: SEVERITY_ORDER[alert.severity])  # stable: creation order kept
    return found
