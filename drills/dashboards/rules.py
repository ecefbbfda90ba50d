"""Beam's six alert rules (beam-model §9.3) as Prometheus alerting rules over the exported metrics.

Each Beam alert id with a warning and a critical severity becomes two rules with the same
``alertname`` (the Beam id) and mutually exclusive conditions, so at most one severity
fires at a time, as in the simulator. The inputs are what Beam's alert read computes and
the metrics export as of the alert engine's last evaluation (``beamdrill_alert_window_*``,
``beamdrill_in_flight_older_than_15m``, ``beamdrill_federation_stale_peers``); the
thresholds are the engine's (:mod:`simulator.operator.alertrules`). The engine fires at
the first evaluation that sees the condition, so every rule has ``for: 0s``, and the
group evaluates every 15 s like the engine.

``error-hotspot`` carries the code in its labels and the simulator's alert id
(``error-hotspot-<code lowercase>``) in ``alert_id``. One difference stays: when two codes
tie for the top count the simulator raises the one Beam's error view meets first,
Prometheus raises both.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

#: How often the group evaluates: the alert engine's interval.
EVALUATION_INTERVAL: Final[str] = "15s"

Severity = Literal["warning", "critical"]


class AlertingRule(BaseModel):
    """One Prometheus alerting rule."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    alert: str
    expr: str
    for_: str = Field("0s", alias="for")
    labels: dict[str, str]
    annotations: dict[str, str]


class RecordingRule(BaseModel):
    """One Prometheus recording rule."""

    model_config = ConfigDict(extra="forbid")

    record: str
    expr: str
    labels: dict[str, str]


class RuleGroup(BaseModel):
    """A Prometheus rule group."""

    model_config = ConfigDict(extra="forbid")

    name: str
    interval: str
    rules: list[AlertingRule] | list[RecordingRule]


class RuleFile(BaseModel):
    """A Prometheus rules file."""

    model_config = ConfigDict(extra="forbid")

    groups: list[RuleGroup]


def _rule(alert_id: str, severity: Severity, scope: str, expr: str, summary: str, description: str,
          alert_id_label: str | None = None) -> AlertingRule:
    return AlertingRule.model_validate({
        "alert": alert_id, "expr": expr, "for": "0s",
        "labels": {"severity": severity, "scope": scope, "alert_id": alert_id_label or alert_id},
        "annotations": {"summary": summary, "description": description}})


ERRORS = 'sum(beamdrill_alert_window_intents{outcome="error"})'
COMPLETED = "sum(beamdrill_alert_window_intents)"
RATIO = f"{ERRORS} / {COMPLETED}"
P95 = "beamdrill_alert_window_latency_p95_seconds"
BACKLOG = "beamdrill_in_flight_older_than_15m"
STALE = "beamdrill_federation_stale_peers"
REJECTS = 'sum(beamdrill_alert_window_shield_flagged{decision="reject"})'
HOLDS = 'sum(beamdrill_alert_window_shield_flagged{decision="hold"})'
CODES = "beamdrill_alert_window_error_codes"
TOP_CODE = f"({CODES} == on() group_left() max({CODES}))"


def beam_rules() -> RuleFile:
    """The rules file: one group, Beam's six alerts at both severities."""
    rules = [
        _rule("network-error-rate", "warning", "network", f"({RATIO} >= 0.1 < 0.25) and {COMPLETED} >= 10",
              "Error rate exceeded threshold", "{{ $value | humanizePercentage }} of completed intents failed in "
              "the alert window (10% warns)."),
        _rule("network-error-rate", "critical", "network", f"({RATIO} >= 0.25) and {COMPLETED} >= 10",
              "Error rate exceeded threshold", "{{ $value | humanizePercentage }} of completed intents failed in "
              "the alert window (25% is critical)."),
        _rule("network-latency-p95", "warning", "network", f"{P95} >= 2 < 5", "p95 latency is elevated",
              "p95 intent latency is {{ $value }} s (2 s warns)."),
        _rule("network-latency-p95", "critical", "network", f"{P95} >= 5", "p95 latency is elevated",
              "p95 intent latency is {{ $value }} s (5 s is critical)."),
        _rule("network-in-flight-backlog", "warning", "network", f"{BACKLOG} >= 1 < 5",
              "In-flight intent backlog detected", "{{ $value }} intents have remained in flight for more than 15 "
              "minutes."),
        _rule("network-in-flight-backlog", "critical", "network", f"{BACKLOG} >= 5",
              "In-flight intent backlog detected", "{{ $value }} intents have remained in flight for more than 15 "
              "minutes (5 are critical)."),
        _rule("federation-stale-peers", "warning", "federation", f"{STALE} >= 1 < 2", "Federation peers are stale",
              "{{ $value }} peer directories have stale sync or heartbeat data."),
        _rule("federation-stale-peers", "critical", "federation", f"{STALE} >= 2", "Federation peers are stale",
              "{{ $value }} peer directories have stale sync or heartbeat data (2 are critical)."),
        _rule("shield-review-load", "warning", "shield", f"({REJECTS} >= 3 or {HOLDS} >= 5) unless {REJECTS} >= 5",
              "Shield is flagging elevated traffic", "Shield recorded 3 rejects or 5 holds in the alert window."),
        _rule("shield-review-load", "critical", "shield", f"{REJECTS} >= 5", "Shield is flagging elevated traffic",
              "Shield recorded {{ $value }} rejects in the alert window (5 are critical)."),
        _rule("error-hotspot", "warning", "agent", f"{TOP_CODE} >= 5 < 10", "Error hotspot: {{ $labels.code }}",
              "{{ $value }} intents failed with {{ $labels.code }}.",
              "error-hotspot-{{ $labels.code | toLower }}"),
        _rule("error-hotspot", "critical", "agent", f"{TOP_CODE} >= 10", "Error hotspot: {{ $labels.code }}",
              "{{ $value }} intents failed with {{ $labels.code }} (10 are critical).",
              "error-hotspot-{{ $labels.code | toLower }}"),
    ]
    return RuleFile(groups=[RuleGroup(name="beam-alerts", interval=EVALUATION_INTERVAL, rules=rules)])
