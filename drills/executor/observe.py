"""Probes: read one fact of the world under drill, through the world's public surfaces
(rows, the bus, the alert engine, the inbox, the audit log, partner health), and compare
it with what the runbook expects."""

from __future__ import annotations

from typing import Any, Callable

from drills.drillfile import probes as spec
from drills.executor.actions import capture
from drills.executor.context import DrillContext
from drills.runbook import IntentTrace, add_event, guidance
from simulator.world import IntentState
from simulator.operator.partnerhealth import health_report


def _intent(ctx: DrillContext, probe: spec.NonceTarget) -> IntentState | None:
    nonce = ctx.nonce(probe)
    return None if nonce is None else ctx.world.intent(nonce, probe.path)


def _status(ctx: DrillContext, probe: spec.NonceTarget) -> Any:
    intent = _intent(ctx, probe)
    return None if intent is None else intent.status


def _error(ctx: DrillContext, probe: spec.NonceTarget) -> Any:
    intent = _intent(ctx, probe)
    return None if intent is None else intent.error


def _retry_count(ctx: DrillContext, probe: spec.NonceTarget) -> Any:
    intent = _intent(ctx, probe)
    return None if intent is None else intent.retry_count


def _retry_schedule(ctx: DrillContext, probe: spec.NonceTarget) -> Any:
    nonce = ctx.nonce(probe)
    scheduled = [(event["retry_count"], event["delay"]) for event in ctx.events.get(nonce or "", [])
                 if event["kind"] == "retry_scheduled"]
    return bool(scheduled) and ctx.world.follows_retry_policy(nonce or "", scheduled)


def _shield_decision(ctx: DrillContext, probe: spec.NonceTarget) -> Any:
    decisions = [event["shield"]["decision"] for event in ctx.events.get(ctx.nonce(probe) or "", [])
                 if event["kind"] == "relay" and event.get("shield")]
    return decisions[-1] if decisions else None


def _guidance(ctx: DrillContext, probe: spec.NonceTarget) -> Any:
    nonce = ctx.nonce(probe)
    if nonce is None or nonce not in ctx.events:
        return None
    trace = IntentTrace(nonce=nonce, epoch=ctx.world.scenario.epoch)
    for event in ctx.events[nonce]:
        add_event(trace, event)
    return guidance(trace)


def _workflow(ctx: DrillContext, probe: spec.WorkflowField) -> Any:
    runs = ctx.world.quote_runs()
    return getattr(runs[probe.run], probe.field) if probe.run < len(runs) else None


def _alert(ctx: DrillContext, probe: spec.AlertSeverity) -> Any:
    return ctx.world.alerts.firing().get(probe.id)


def _alerts_firing(ctx: DrillContext, probe: spec.AlertsFiring) -> Any:
    return len(ctx.world.alerts.firing())


def _alert_related(ctx: DrillContext, probe: spec.AlertRelated) -> Any:
    for alert in ctx.world.alerts.evaluate():
        if alert.id == probe.id:
            return [request.company for request in alert.related_partner_requests]
    return None


def _inbox_item(ctx: DrillContext, probe: spec.InboxItem) -> Any:
    item = ctx.world.inbox.by_key(probe.key)
    return None if item is None else getattr(item, probe.field)


def _inbox_count(ctx: DrillContext, probe: spec.InboxCount) -> Any:
    return ctx.world.inbox.count(probe.status)


def _dead_letters(ctx: DrillContext, probe: spec.DeadLetters) -> Any:
    return ctx.world.dead_letter_count(probe.recipient)


def _bus_stats(ctx: DrillContext, probe: spec.BusStats) -> Any:
    return ctx.world.bus_stats().get(probe.field)


def _shield(ctx: DrillContext, probe: spec.ShieldDecisions) -> Any:
    return ctx.world.shield_decisions().get(probe.decision, 0)


def _error_count(ctx: DrillContext, probe: spec.ErrorCount) -> Any:
    return ctx.world.error_count(probe.code, probe.path)


def _audit(ctx: DrillContext, probe: spec.AuditCount) -> Any:
    rows = ctx.world.audit_rows()
    return sum(1 for row in rows if row.action == probe.action
               and (probe.mentions is None or probe.mentions in f"{row.target} {row.details}"))


def _partner_health(ctx: DrillContext, probe: spec.PartnerHealth) -> Any:
    partners = ctx.world.partners
    request = next((r for r in partners.all() if r.email == probe.email.strip().lower()), None)
    if request is None:
        return None
    report = health_report(partners, ctx.world.alerts.refs())
    health = next(item for item in report.requests if item.request_id == request.id)
    if probe.field == "health":
        return health.health
    return None if health.incident is None else health.incident.title


def _invariant(ctx: DrillContext, probe: spec.Invariant) -> Any:
    problems = ctx.world.conservation_problems()
    return "held" if not problems else "; ".join(problems)


def _history(ctx: DrillContext, probe: spec.HistoryCount) -> Any:
    report = ctx.world.delivery_history()
    return None if report is None else getattr(report, probe.count)


def _restore(ctx: DrillContext, probe: spec.RestoreMeasure) -> Any:
    report = ctx.world.recovery_report()
    if report is None:
        return None
    if probe.field == "backups_taken":
        return report.backups_taken
    if probe.field == "restores":
        return len(report.restores)
    try:
        restore = report.restores[probe.restore]
    except IndexError:
        return None
    if probe.field == "lost":
        return restore.lost_total
    if probe.field in ("lost_bus", "lost_directory"):
        return len(restore.lost[probe.field.removeprefix("lost_")])
    if probe.field == "unrecovered":
        return restore.lost_total - restore.recovered_by_retry
    if probe.field == "rolled_back":
        return sum(restore.rolled_back.values())
    return getattr(restore, probe.field)


def _unchanged(ctx: DrillContext, probe: spec.Unchanged) -> Any:
    before = ctx.captures.get(probe.since)
    if before is None:
        return None
    was, now = before[probe.field], capture(ctx)[probe.field]
    return "unchanged" if was == now else f"{was!r} -> {now!r}"


OBSERVERS: dict[type, Callable[[DrillContext, Any], Any]] = {
    spec.TraceStatus: _status, spec.ErrorOf: _error, spec.RetryCount: _retry_count,
    spec.RetrySchedule: _retry_schedule, spec.ShieldDecision: _shield_decision, spec.Guidance: _guidance, spec.WorkflowField: _workflow,
    spec.AlertSeverity: _alert, spec.AlertsFiring: _alerts_firing, spec.AlertRelated: _alert_related,
    spec.InboxItem: _inbox_item, spec.InboxCount: _inbox_count, spec.DeadLetters: _dead_letters,
    spec.BusStats: _bus_stats, spec.ShieldDecisions: _shield, spec.ErrorCount: _error_count,
    spec.AuditCount: _audit, spec.PartnerHealth: _partner_health, spec.Invariant: _invariant,
    spec.HistoryCount: _history, spec.RestoreMeasure: _restore, spec.Unchanged: _unchanged,
}


def observe(ctx: DrillContext, probe: spec.ProbeBase) -> Any:
    """What ``probe`` sees in the world now."""
    return OBSERVERS[type(probe)](ctx, probe)


def label(probe: spec.ProbeBase) -> str:
    """A probe's name, or a readable description of what it looks at."""
    if probe.name:
        return probe.name
    fields = probe.model_dump(exclude_defaults=True, exclude={"name", "at", "by", "after", "equals", "one_of",
                                                              "at_least", "at_most", "contains", "probe"})
    target = " ".join(f"{key}={value}" for key, value in fields.items())
    kind = getattr(probe, "probe")
    return f"{kind} {target}".strip()
