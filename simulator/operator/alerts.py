"""The alert engine: Beam's alert rules evaluated continuously on virtual time.

Beam has no alert process: it computes the alerts whenever somebody reads them (the
overview, the alert feed, the inbox or partner health), and every such read upserts one
inbox item per critical alert (beam-model §9.3). The simulator's stand-in for that reader
is :class:`AlertEngine`: a SimPy process that evaluates every ``interval`` virtual seconds
(15 by default), plus :meth:`AlertEngine.evaluate` on demand. **Each evaluation is a
read**: it upserts ``critical-alert:<id>`` into the inbox for every critical alert, so an
item appears at the first evaluation that sees the alert critical, keeps its status on
later ones and stays after the alert clears. Warnings never create items. The periodic
evaluation skips what only a reader looks at (sample traces, links, ``startedAt``); an
on-demand evaluation returns complete :class:`~simulator.operator.alertrules.Alert` records.

Between evaluations the engine records when each alert id starts firing, changes severity
and clears (:attr:`AlertEngine.transitions`) and, when somebody listens to the world's
events, emits ``alert_fired``, ``alert_changed`` and ``alert_cleared`` with the id,
severity and value. While the directory process is down nobody can read its alerts, so
the periodic evaluation skips; :meth:`evaluate` always answers.

Partner requests join alerts only through :data:`PartnerLookup`, a callable given the
sample-trace nonces of an alert that returns the requests whose proof intent is among
them (the partners module provides it).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable, Final, Generator, Iterable, Literal, Mapping, Sequence

import simpy

from simulator.operator.api import ApiModel
from simulator.operator.alertrules import Alert, FederationPeer, RelatedPartnerRequest, build_alerts, dashboard_href
from simulator.kernel.events import EventStream
from simulator.operator.inbox import Inbox
from simulator.operator.observations import Observations

#: Given an alert's sample nonces, the partner requests whose proof intent is among them
#: (:class:`RelatedPartnerRequest` or any object :meth:`RelatedPartnerRequest.of` reads).
PartnerLookup = Callable[[Sequence[str]], Iterable[Any]]

DEFAULT_INTERVAL: Final[float] = 15.0
KEY_PREFIX: Final[str] = "critical-alert:"

#: The next action a new critical-alert item suggests, per alert id (the simulator's own
#: wording of the runbook's steps, §9.5; Beam's texts are not in the model).
NEXT_ACTIONS: Final[dict[str, str]] = {
    "network-error-rate": "Open the latest failing trace, confirm the cause from its error code, and record an "
                          "owner before anything is requeued.",
    "network-latency-p95": "Open the slowest recent trace and check the recipient's latency and capacity before "
                           "it turns into timeouts.",
    "network-in-flight-backlog": "Open the oldest in-flight trace: is it an async acceptance still waiting for its "
                                 "ack, or a delivery stuck in flight?",
    "federation-stale-peers": "Check the stale peer's heartbeat and last sync, then decide whether to keep routing "
                              "through it.",
    "shield-review-load": "Inspect the Shield context of the flagged senders, correlate with Errors, and change "
                          "policy only for confirmed-valid traffic.",
}
#: Alert ids of the scenario's SLO burn-rate alerts start with this (:mod:`simulator.slo`).
SLO_PREFIX: Final[str] = "slo-"
SLO_ACTION: Final[str] = ("Find what the failing or slow intents share (recipient, error code, route) in the latest "
                          "traces, and stop the burn before the error budget is spent.")
HOTSPOT_ACTIONS: Final[dict[str, str]] = {
    "TIMEOUT": "Open the latest TIMEOUT trace, check the recipient's latency and connection, fix it, then requeue "
               "with the original nonce.",
    "OFFLINE": "Confirm why the recipient is offline, bring it back, then let the retries or a requeue deliver with "
               "the original nonce.",
    "FORBIDDEN": "Check the sender and target ids and the recent ACL changes; restore the exact ACL entry, never "
                 "a wildcard.",
    "RATE_LIMITED": "Inspect the rate-limit and Shield context; raise a limit only for confirmed-valid traffic.",
}


def default_next_action(alert: Alert) -> str:
    """The next action a new critical-alert item for ``alert`` starts with."""
    if alert.id in NEXT_ACTIONS:
        return NEXT_ACTIONS[alert.id]
    if alert.id.startswith(SLO_PREFIX):
        return SLO_ACTION
    code = alert.title.removeprefix("Error hotspot: ")
    return HOTSPOT_ACTIONS.get(code, f"Open the latest {code} trace, fix the root cause and record an owner, then "
                                     "requeue with the original nonce.")


class AlertTransition(ApiModel):
    """An alert id started firing, changed severity or cleared, at virtual time ``time``."""

    time: float
    kind: Literal["alert_fired", "alert_changed", "alert_cleared"]
    alert_id: str
    severity: str
    previous_severity: str | None = None
    value: int | float


class AlertEngine:
    """Evaluates the alert rules over ``observations`` now and every ``interval`` seconds
    (None: only on demand), keeping the inbox and the firing history up to date."""

    def __init__(self, env: simpy.Environment, events: EventStream, observations: Observations, inbox: Inbox, *,
                 peers: Iterable[FederationPeer | Mapping[str, Any]] = (), related: PartnerLookup | None = None,
                 interval: float | None = DEFAULT_INTERVAL, readable: Callable[[], bool] | None = None,
                 keep: int = 10_000) -> None:
        self.env = env
        self.events = events
        self.observations = observations
        self.inbox = inbox
        self.related = related
        self.readable = readable
        self.peers: list[FederationPeer] = []
        self.set_peers(peers)
        #: The alerts of the last evaluation (without what only a read joins to them).
        self.latest: list[Alert] = []
        #: Alert id → severity of every alert firing at the last evaluation.
        self.severities: dict[str, str] = {}
        self.evaluated_at: float | None = None
        #: When the current firing episode of each firing alert id began.
        self.since: dict[str, float] = {}
        self.transitions: deque[AlertTransition] = deque(maxlen=keep)
        #: Every alert id that ever fired, in the order they first fired.
        self.known_ids: dict[str, None] = {}
        self._hrefs: dict[str, str] = {}
        self.interval: float | None = None
        self.process: simpy.Process | None = None
        #: More alerts each evaluation adds to the rules' (the world's SLO burn-rate alerts), given the time.
        self.more_alerts: Callable[[float], list[Alert]] | None = None
        if interval is not None:
            self.start(interval)

    # -- configuration ---------------------------------------------------------------------

    def set_peers(self, peers: Iterable[FederationPeer | Mapping[str, Any]]) -> None:
        """Replace the federation peers ``federation-stale-peers`` judges."""
        self.peers = [peer if isinstance(peer, FederationPeer) else FederationPeer.model_validate(peer)
                      for peer in peers]

    def start(self, interval: float = DEFAULT_INTERVAL) -> None:
        """Evaluate every ``interval`` virtual seconds from now on."""
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds, not {interval}")
        self.interval = interval
        if self.process is None or not self.process.is_alive:
            self.process = self.env.process(self._run())

    def stop(self) -> None:
        """Stop the periodic evaluation (after the tick already scheduled)."""
        self.interval = None

    def _run(self) -> Generator[simpy.Event, Any, None]:
        while self.interval is not None:
            yield self.env.timeout(self.interval)
            if self.interval is not None and (self.readable is None or self.readable()):
                self._evaluate()

    # -- evaluating ------------------------------------------------------------------------

    def evaluate(self) -> list[Alert]:
        """Read the alerts now, as ``GET /observability/alerts`` does (upserting the inbox)."""
        return [self._joined(alert) for alert in self._evaluate(full=True)]

    def _evaluate(self, full: bool = False) -> list[Alert]:
        now = self.env.now
        self.observations.advance()
        alerts = build_alerts(self.observations, self.peers, now, full)
        if self.more_alerts is not None:
            alerts = alerts + self.more_alerts(now)
        for alert in alerts:
            if alert.severity == "critical":
                self._upsert(alert)
        self._record(alerts, now)
        self.latest = alerts
        self.severities = {alert.id: alert.severity for alert in alerts}
        self.evaluated_at = now
        return alerts

    def _upsert(self, alert: Alert) -> None:
        href = self._hrefs.get(alert.id)
        if href is None:
            href = self._hrefs[alert.id] = dashboard_href("/alerts", alert.id)
        self.inbox.refresh("critical_alert", KEY_PREFIX + alert.id, severity="critical", title=alert.title,
                           message=alert.message, href=href, alert_id=alert.id,
                           default_next_action=default_next_action(alert), reason="alert read",
                           details={"metric": alert.metric, "value": alert.value, "threshold": alert.threshold,
                                    "valueUnit": alert.value_unit})

    def _record(self, alerts: list[Alert], now: float) -> None:
        before = {alert.id: alert for alert in self.latest}  # the previous evaluation
        seen: set[str] = set()
        for alert in alerts:
            seen.add(alert.id)
            previous = before.get(alert.id)
            if previous is None:
                self.since[alert.id] = now
                self.known_ids.setdefault(alert.id, None)
                self._note(now, "alert_fired", alert, None)
            elif previous.severity != alert.severity:
                self._note(now, "alert_changed", alert, previous.severity)
        for alert in self.latest:
            if alert.id not in seen:
                self.since.pop(alert.id, None)
                self._note(now, "alert_cleared", alert, None)

    def _note(self, now: float, kind: Literal["alert_fired", "alert_changed", "alert_cleared"], alert: Alert,
              previous: str | None) -> None:
        self.transitions.append(AlertTransition(time=now, kind=kind, alert_id=alert.id, severity=alert.severity,
                                                previous_severity=previous, value=alert.value))
        if self.events.active:
            data: dict[str, Any] = {"id": alert.id, "severity": alert.severity, "value": alert.value}
            if previous is not None:
                data["previous"] = previous
            self.events.emit_data(kind, None, data)

    # -- reading -------------------------------------------------------------------------------

    def firing(self) -> dict[str, str]:
        """Alert id → severity as of the last evaluation (no new read)."""
        return dict(self.severities)

    def refs(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """Read the alerts now and give (id, severity, sample nonces) of each, the shape
        partner health links requests with (Beam's partner-health read is an alert read)."""
        return [(alert.id, alert.severity, alert.sample_nonces) for alert in self._evaluate(full=True)]

    def _joined(self, alert: Alert) -> Alert:
        """``alert`` with its related partner requests and its inbox item's state."""
        related: list[RelatedPartnerRequest] = []
        if self.related is not None and alert.sample_traces:
            related = [found if isinstance(found, RelatedPartnerRequest) else RelatedPartnerRequest.of(found)
                       for found in self.related(alert.sample_nonces)]
        item = self.inbox.by_key(KEY_PREFIX + alert.id)
        state: dict[str, Any] = {}
        if item is not None:
            state = {"notification_id": item.id, "notification_status": item.status,
                     "notification_owner": item.owner, "notification_next_action": item.next_action}
        return alert.joined(related, **state)
