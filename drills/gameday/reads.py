"""What the GameDay API reads from the world, in Beam's reply shapes. Every read here is
free of side effects, so polling the console never changes the run: the alerts are the
alert engine's latest evaluation (Beam evaluates on every read and upserts the inbox; the
engine here evaluates every 15 virtual seconds), not a new one."""

from __future__ import annotations

from typing import Any

from drills.gameday.session import Session, shield_view
from drills.runbook import IntentTrace, add_event, final_status, guidance
from simulator.operator.api import ApiResult, error, ok
from simulator.operator.inbox import STATUSES, clamp_limit

#: The longest nonce, agent id or query value the API looks at.
MAX_TEXT = 300


def _limit(value: str | None, default: int, maximum: int) -> int | ApiResult:
    if value is None:
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        return error(400, "INVALID_LIMIT", f"limit must be an integer from 1 to {maximum}, not {value[:40]!r}")
    return int(value)


def inbox(session: Session, status: str | None, source: str | None, limit: str | None) -> ApiResult:
    """``GET /admin/operator-notifications?status=&source=&limit=``."""
    if status is not None and status not in STATUSES:
        return error(400, "INVALID_NOTIFICATION_STATUS", f"status must be one of {', '.join(STATUSES)}")
    if source is not None and source not in ("critical_alert", "beta_request"):
        return error(400, "INVALID_SOURCE", "source must be critical_alert or beta_request")
    count = _limit(limit, 200, 5000)
    if isinstance(count, ApiResult):
        return count
    world = session.world
    items = world.inbox.items(status=status, source=source, limit=clamp_limit(count))
    return ok({"notifications": [item.view() for item in items], "summary": world.inbox.summary().view()})


def alerts(session: Session) -> ApiResult:
    """``GET /observability/alerts``: the latest evaluation, each alert with its inbox item."""
    engine, world = session.world.alerts, session.world
    views = []
    for alert in engine.latest:
        view = alert.view()
        item = world.inbox.by_key(f"critical-alert:{alert.id}")
        if item is not None:
            view.update(notificationId=item.id, notificationStatus=item.status, notificationOwner=item.owner,
                        notificationNextAction=item.next_action)
        views.append(view)
    return ok({"alerts": views, "evaluatedAt": engine.evaluated_at,
               "firingSince": {alert.id: engine.since.get(alert.id) for alert in engine.latest}})


def trace(session: Session, nonce: str) -> ApiResult:
    """``GET /observability/intents/:nonce``: the intent's history as the runbook opens it."""
    if not nonce or len(nonce) > MAX_TEXT:
        return error(400, "INVALID_NONCE", f"a nonce is 1 to {MAX_TEXT} characters")
    events = session.ctx.events.get(nonce)
    if not events:
        return error(404, "NOT_FOUND", f"Intent {nonce} not found")
    found = IntentTrace(nonce=nonce, epoch=session.world.scenario.epoch)
    for event in events:
        add_event(found, event)
    audit = [{"time": row.time, "action": row.action, "target": row.target, **row.details}
             for row in session.world.audit_rows() if nonce == row.target or nonce in map(str, row.details.values())]
    found.audit = audit[-25:]
    body = found.model_dump(mode="json")
    body.update(status=final_status(found), guidance=guidance(found))
    return ok(body)


def errors(session: Session) -> ApiResult:
    """``GET /observability/errors``: failures and refusals by code on both paths."""
    world = session.world
    directory = world.directory_errors()
    bus = dict(sorted(world.bus.rejections_by_code.items()))
    return ok({"totalErrors": sum(directory.values()) + sum(bus.values()), "distinctErrorCodes": len(directory | bus),
               "directory": directory, "busRefusals": bus, "deadLetters": world.dead_letter_count()})


def dead_letters(session: Session, recipient: str | None, limit: str | None) -> ApiResult:
    """``GET /v1/beam/dead-letter?recipient=&limit=``: the dead-letter page."""
    count = _limit(limit, 100, 500)
    if isinstance(count, ApiResult):
        return count
    if recipient is not None and len(recipient) > MAX_TEXT:
        return error(400, "INVALID_RECIPIENT", f"recipient is at most {MAX_TEXT} characters")
    return ok(session.world.exports.dead_letters(recipient=recipient, limit=count).view())


def acl(session: Session, beam_id: str) -> ApiResult:
    """``GET /acl/:beamId``."""
    if beam_id not in session.world.agents:
        return error(404, "NOT_FOUND", f"Agent {beam_id[:MAX_TEXT]} not found")
    return ok({"acls": [{"targetBeamId": e.target, "intentType": e.intent, "allowedFrom": e.allowed_from}
                        for e in session.world.acl_entries(beam_id)]})


def shield(session: Session, beam_id: str) -> ApiResult:
    """``GET /shield/config/:beamId``."""
    config = session.world.shield_config(beam_id)
    if config is None:
        return error(404, "NOT_FOUND", f"Agent {beam_id[:MAX_TEXT]} not found")
    return ok({"beamId": beam_id, "config": shield_view(config)})


def partner_requests(session: Session) -> ApiResult:
    """``GET /admin/beta-requests``: every request with owner, next action, blocked prerequisites."""
    partners = session.world.partners
    return ok({"requests": [partners.view(request) for request in partners.all()]})


def state(session: Session) -> dict[str, Any]:
    """``GET /api/gameday``: the clock, the pace and the faults."""
    world, pace = session.world, session.pace
    faults = [{"index": index, "name": fault.name, "kind": fault.kind, "at": fault.at,
               "active": index in world.active_faults, "revertible": index in world.fault_reverts}
              for index, fault in enumerate(world.scenario.faults)]
    return {"drill": session.loaded.name, "title": session.loaded.drill.title, "seed": world.seed,
            "virtualTime": world.now, "end": session.end, "over": session.over,
            "speed": None if pace is None else pace.speed, "paused": None if pace is None else pace.paused,
            "target": None if pace is None else pace.target(), "faults": faults,
            "actions": len(session.journal.actions), "deadLetters": world.dead_letter_count(),
            "firing": world.alerts.firing()}
