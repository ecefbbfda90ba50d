"""Partner (beta) requests on virtual time (beam-model §10): intake, stages, the operator's
PATCH, go-live prerequisites, attention flags, and the ``beta-request:<id>`` inbox item
that follows each request (§9.4).

The inbox item is written as Beam's ``ensureBetaRequestNotification`` writes it
(``server.ts``): created (status ``new``) at intake, reset to ``new`` when a closed
request is submitted again, refreshed by every PATCH, which then moves its status to
:func:`notification_status` (``syncBetaRequestNotificationStatus``) when it differs.

Health and incidents live in :mod:`simulator.operator.partnerhealth`, the digest in
:mod:`simulator.operator.digest`; both read the requests kept here. Times are virtual seconds.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Final, Iterable, Literal, Mapping, get_args

import simpy
from pydantic import Field, ValidationError
from pydantic.alias_generators import to_camel

from simulator.operator.api import ApiModel, ApiResult, error, ok, require_role
from simulator.operator.inbox import Inbox, Status
from simulator.beam.audit import AuditLog
from simulator.operator.intentview import stored_latency_ms
from simulator.beam.relay import IntentRow

if TYPE_CHECKING:
    from simulator.beam.bus import Bus
    from simulator.beam.directory import Directory

Stage = Literal["new", "reviewing", "contacted", "scheduled", "active", "closed"]
STAGES: Final[tuple[str, ...]] = get_args(Stage)
#: The six go-live prerequisites an operator may record as blocked (§10).
PREREQUISITES: Final[tuple[str, ...]] = (
    "workflow_owner_confirmed", "sender_receiver_confirmed", "success_metric_confirmed",
    "security_review_confirmed", "go_live_window_confirmed", "proof_recipients_confirmed",
)
#: Hours in a stage after which a request is stale (closed never is).
STALE_HOURS: Final[dict[str, float]] = {"new": 24, "reviewing": 24, "contacted": 72, "scheduled": 120, "active": 96}
#: Stages that set lastContactAt to now when a patch leaves none recorded.
CONTACT_STAGES: Final[frozenset[str]] = frozenset({"contacted", "scheduled", "active"})
PROOF_NONCE_PATTERN: Final[re.Pattern[str]] = re.compile(r"^[A-Za-z0-9:_-]{8,200}$")
AUDIT_ACTION: Final[str] = "admin.beta_request.updated"
HOUR: Final[float] = 3600.0

#: PATCH body keys → request fields, in the order they are applied.
PATCH_FIELDS: Final[dict[str, str]] = {
    "status": "status", "owner": "owner", "operatorNotes": "operator_notes", "nextAction": "next_action",
    "lastContactAt": "last_contact_at", "nextMeetingAt": "next_meeting_at", "reminderAt": "reminder_at",
    "proofIntentNonce": "proof_intent_nonce", "blockedPrerequisites": "blocked_prerequisites",
}
_TEXT_FIELDS: Final[frozenset[str]] = frozenset({"owner", "operatorNotes", "nextAction"})
_TIME_FIELDS: Final[frozenset[str]] = frozenset({"lastContactAt", "nextMeetingAt", "reminderAt"})


class PartnerRequest(ApiModel):
    """One beta request row. ``view()`` gives the API's camelCase form."""

    id: int
    email: str
    company: str | None = None
    agent_count: int | None = None
    workflow_type: str | None = None
    workflow_summary: str | None = None
    status: Stage = "new"
    owner: str | None = None
    operator_notes: str | None = None
    next_action: str | None = None
    last_contact_at: float | None = None
    next_meeting_at: float | None = None
    reminder_at: float | None = None
    proof_intent_nonce: str | None = None
    blocked_prerequisites: tuple[str, ...] = ()
    created_at: float
    updated_at: float
    stage_entered_at: float
    submissions: int = 1


class _Intake(ApiModel):
    """The optional fields of a ``POST /waitlist`` body."""

    company: str | None = None
    agent_count: Annotated[int, Field(ge=0, strict=True)] | None = None
    workflow_type: str | None = None
    workflow_summary: str | None = None


class ProofIntent(ApiModel):
    """What the world knows of a request's linked proof intent.

    ``status`` is the directory row's status, except ``dead_letter`` when the bus holds a
    dead-lettered message with the same nonce (the directory row of a bus delivery only
    ever records the attempt's failure).
    """

    nonce: str
    status: str
    error_code: str | None
    latency_ms: int | None
    requested_at: float


# -- rules on one request ----------------------------------------------------------------


def is_stale(request: PartnerRequest, now: float) -> bool:
    """Time in the current stage ≥ the stage's threshold (never for closed)."""
    hours = STALE_HOURS.get(request.status)
    return hours is not None and now - request.stage_entered_at >= hours * HOUR


def is_follow_up_due(request: PartnerRequest, now: float) -> bool:
    """Not closed, and the reminder is due or the request is scheduled with no meeting."""
    if request.status == "closed":
        return False
    reminder_due = request.reminder_at is not None and request.reminder_at <= now
    return reminder_due or (request.status == "scheduled" and request.next_meeting_at is None)


def attention_flags(request: PartnerRequest, now: float) -> list[str]:
    """The attention flags at ``now``, in the order unowned, stale, follow_up_due."""
    flags = []
    if request.status != "closed" and not request.owner:
        flags.append("unowned")
    if is_stale(request, now):
        flags.append("stale")
    if is_follow_up_due(request, now):
        flags.append("follow_up_due")
    return flags


def notification_status(request: PartnerRequest) -> Status:
    """The status of the request's ``beta-request:<id>`` inbox item (§10), rules in order:
    stage new → ``new``; a last contact or next action, or stage contacted, scheduled,
    active or closed → ``acted``; an owner or stage reviewing → ``acknowledged``."""
    if request.status == "new":
        return "new"
    if request.last_contact_at is not None or request.next_action or request.status in (
            "contacted", "scheduled", "active", "closed"):
        return "acted"
    return "acknowledged"  # reviewing, with or without an owner


def notification_key(request: PartnerRequest) -> str:
    """The inbox ``source_key`` of the request's notification (severity warning)."""
    return f"beta-request:{request.id}"


#: What the request's next step is while no operator has written one (``getBetaRequestNextStep``).
NEXT_STEPS: Final[dict[str, str]] = {
    "reviewing": "Beam is reviewing the workflow and assigning an operator.",
    "contacted": "Beam will follow up directly on the request by email.",
    "scheduled": "Beam has a follow-up call or working session queued for this request.",
    "active": "This request is in an active hosted beta rollout.",
    "closed": "This request is closed. Submit a fresh intake if the workflow changed materially.",
    "new": "Beam will review the workflow, assign an owner, and follow up with the next concrete step.",
}


def next_step(request: PartnerRequest) -> str:
    """The request's next action, or its stage's default next step."""
    return request.next_action or NEXT_STEPS[request.status]


def notification_message(request: PartnerRequest) -> str:
    """The item's message: the workflow (``hosted-beta-`` dropped, dashes as spaces), the
    agent count, the workflow summary, joined by `` · ``."""
    workflow = (request.workflow_type.removeprefix("hosted-beta-").replace("-", " ")
                if request.workflow_type else "workflow review")
    parts = [workflow]
    if request.agent_count is not None:
        parts.append(f"{request.agent_count} agent{'' if request.agent_count == 1 else 's'}")
    if request.workflow_summary:
        parts.append(request.workflow_summary)
    return " · ".join(parts)


# -- PATCH validation ----------------------------------------------------------------------


def _text(key: str, value: Any) -> str | None | ApiResult:
    if value is None:
        return None
    if not isinstance(value, str):
        return error(400, "INVALID_BETA_REQUEST_PATCH", f"{key} must be a string or null, not {value!r}")
    return value.strip() or None


def _time(key: str, value: Any) -> float | None | ApiResult:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return error(400, "INVALID_BETA_REQUEST_PATCH",
                     f"{key} must be a virtual time in seconds or null, not {value!r}")
    return float(value)


def _prerequisites(value: Any) -> tuple[str, ...] | ApiResult:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        return error(400, "INVALID_BLOCKED_PREREQUISITES",
                     f"blockedPrerequisites must be a list of {', '.join(PREREQUISITES)}, not {value!r}")
    unknown = [item for item in value if item not in PREREQUISITES]
    if unknown:
        return error(400, "INVALID_BLOCKED_PREREQUISITES",
                     f"unknown prerequisite {', '.join(map(repr, unknown))}; expected any of {', '.join(PREREQUISITES)}")
    return tuple(key for key in PREREQUISITES if key in value)


def validate_patch(changes: Mapping[str, Any]) -> dict[str, Any] | ApiResult:
    """Check a PATCH body; return request fields → new values, or the 400 answer."""
    if not changes:
        return error(400, "EMPTY_PATCH", "the patch changes nothing")
    unknown = [key for key in changes if key not in PATCH_FIELDS]
    if unknown:
        return error(400, "INVALID_BETA_REQUEST_PATCH",
                     f"unknown field {', '.join(map(repr, unknown))}; expected any of {', '.join(PATCH_FIELDS)}")
    fields: dict[str, Any] = {}
    for key, value in changes.items():
        checked: Any
        if key == "status":
            if value not in STAGES:
                return error(400, "INVALID_BETA_REQUEST_STATUS",
                             f"status must be one of {', '.join(STAGES)}, not {value!r}")
            checked = value
        elif key in _TEXT_FIELDS:
            checked = _text(key, value)
        elif key in _TIME_FIELDS:
            checked = _time(key, value)
        elif key == "proofIntentNonce":
            if value is not None and (not isinstance(value, str) or not PROOF_NONCE_PATTERN.fullmatch(value)):
                return error(400, "INVALID_PROOF_INTENT_NONCE",
                             f"proofIntentNonce must match {PROOF_NONCE_PATTERN.pattern}, not {value!r}")
            checked = value
        else:
            checked = _prerequisites(value)
        if isinstance(checked, ApiResult):
            return checked
        fields[PATCH_FIELDS[key]] = checked
    return fields


# -- the store -------------------------------------------------------------------------------


class Partners:
    """Beta requests, the operator's PATCH, and lookups of their proof intents."""

    def __init__(self, env: simpy.Environment, directory: Directory, bus: Bus, audit: AuditLog,
                 inbox: Inbox) -> None:
        self.env = env
        self.directory = directory
        self.bus = bus
        self.audit = audit
        self.inbox = inbox
        self.requests: dict[int, PartnerRequest] = {}
        self._by_email: dict[str, int] = {}
        # Rows of linked proof intents: Beam keeps intent_log rows until a prune, while the
        # simulator's retention may compact them, so a linked row stays readable here.
        self._pinned: dict[str, IntentRow] = {}

    def snapshot(self) -> tuple[dict[int, PartnerRequest], dict[str, int]]:
        """A copy of the requests as the directory's database holds them (for a backup)."""
        return {key: request.model_copy(deep=True) for key, request in self.requests.items()}, dict(self._by_email)

    def restore(self, saved: tuple[dict[int, PartnerRequest], dict[str, int]]) -> None:
        """Put the requests back as :meth:`snapshot` copied them (a restore from a backup)."""
        requests, emails = saved
        self.requests.clear()
        self.requests.update({key: request.model_copy(deep=True) for key, request in requests.items()})
        self._by_email.clear()
        self._by_email.update(emails)

    # -- intake and reads --------------------------------------------------------------

    def create(self, email: str, company: str | None = None, agent_count: int | None = None,
               workflow_type: str | None = None, workflow_summary: str | None = None) -> ApiResult:
        """``POST /waitlist``: a new request in stage ``new`` (201), or a repeat from the
        same email (200) that keeps its stage, unless it was closed: then it is ``new``
        again (and so is its notification). Bad input is 400 ``INVALID_EMAIL`` or
        ``INVALID_BETA_REQUEST``."""
        address = email.strip().lower() if isinstance(email, str) else ""
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            return error(400, "INVALID_EMAIL", f"email must be an address, not {email!r}")
        now = self.env.now
        existing = self._by_email.get(address)
        try:
            given = _Intake(company=company, agent_count=agent_count, workflow_type=workflow_type,
                            workflow_summary=workflow_summary)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = to_camel(str(problem["loc"][0])) if problem["loc"] else "body"
            return error(400, "INVALID_BETA_REQUEST", f"{field}: {problem['msg']}, found {problem.get('input')!r}")
        if existing is None:
            request = PartnerRequest(id=len(self.requests) + 1, email=address, created_at=now, updated_at=now,
                                     stage_entered_at=now, **given.model_dump())
            self.requests[request.id] = request
            self._by_email[address] = request.id
            self._notify(request, reset_status=True)
            return ok({"request": request.view(), "repeat": False}, 201)
        request = self.requests[existing]
        update: dict[str, Any] = given.model_dump(exclude_none=True)
        update.update(updated_at=now, submissions=request.submissions + 1)
        reopened = request.status == "closed"
        if reopened:
            update.update(status="new", stage_entered_at=now)
        request = self.requests[existing] = request.model_copy(update=update)
        if reopened:
            self._notify(request, reset_status=True)
        return ok({"request": request.view(), "repeat": True})

    def _notify(self, request: PartnerRequest, reset_status: bool = False) -> int:
        """Create or refresh the request's inbox item (``ensureBetaRequestNotification``); its id."""
        step = next_step(request)
        return self.inbox.refresh(
            "beta_request", notification_key(request), severity="warning",
            title=f"Hosted beta request from {request.company or request.email}",
            message=notification_message(request), href=f"/beta-requests?id={request.id}",
            owner=request.owner, next_action=step, reset_status=reset_status, beta_request_id=request.id,
            details={"email": request.email, "company": request.company, "workflowType": request.workflow_type,
                     "stage": request.status, "nextAction": step, "nextMeetingAt": request.next_meeting_at,
                     "reminderAt": request.reminder_at, "stageEnteredAt": request.stage_entered_at})

    def get(self, request_id: int) -> PartnerRequest | None:
        """The request with ``request_id``, if any."""
        return self.requests.get(request_id)

    def all(self) -> list[PartnerRequest]:
        """Every request, oldest first."""
        return list(self.requests.values())

    def flags(self, request: PartnerRequest) -> list[str]:
        """The request's attention flags now."""
        return attention_flags(request, self.env.now)

    def view(self, request: PartnerRequest) -> dict[str, Any]:
        """The request with its attention flags and notification status now."""
        return {**request.view(), "attention": self.flags(request),
                "notificationStatus": notification_status(request),
                "stageAgeHours": (self.env.now - request.stage_entered_at) / HOUR}

    def requests_for_nonces(self, nonces: Iterable[str], limit: int = 3) -> list[PartnerRequest]:
        """Requests whose proof intent is among ``nonces``, newest update first, at most
        ``limit`` (an alert's ``relatedPartnerRequests``, §9.3)."""
        wanted = set(nonces)
        found = [r for r in self.requests.values() if r.proof_intent_nonce is not None and r.proof_intent_nonce in wanted]
        found.sort(key=lambda r: (r.updated_at, r.id), reverse=True)
        return found[:max(0, limit)]

    def proof(self, request: PartnerRequest) -> ProofIntent | None:
        """The linked proof intent as the directory (and bus) hold it now, if any."""
        nonce = request.proof_intent_nonce
        if nonce is None:
            return None
        row = self.directory.rows.get(nonce) or self._pinned.get(nonce)
        if row is None:
            return None
        status = row.status
        message = self.bus.by_nonce.get(nonce)
        if message is not None and message.status == "dead_letter":
            status = "dead_letter"
        return ProofIntent(nonce=nonce, status=status, error_code=row.error_code, latency_ms=stored_latency_ms(row),
                           requested_at=row.requested_at)

    def forget_proofs(self, nonces: Iterable[str]) -> None:
        """Stop holding rows for ``nonces`` (an operator pruned them)."""
        for nonce in nonces:
            self._pinned.pop(nonce, None)

    # -- PATCH -------------------------------------------------------------------------

    def patch(self, request_id: int, changes: Mapping[str, Any], *, role: str, actor: str = "operator") -> ApiResult:
        """``PATCH /admin/beta-requests/:id`` (operator or above); audited.

        Checks in order: role (403), request (404 ``BETA_REQUEST_NOT_FOUND``), the body
        (400: ``EMPTY_PATCH``, ``INVALID_BETA_REQUEST_PATCH``, ``INVALID_BETA_REQUEST_STATUS``,
        ``INVALID_PROOF_INTENT_NONCE``, ``INVALID_BLOCKED_PREREQUISITES``), then the proof
        intent (404 ``PROOF_INTENT_NOT_FOUND``).
        """
        refused = require_role(role, "operator")
        if refused is not None:
            return refused
        request = self.requests.get(request_id)
        if request is None:
            return error(404, "BETA_REQUEST_NOT_FOUND", f"no beta request {request_id!r}")
        fields = validate_patch(changes)
        if isinstance(fields, ApiResult):
            return fields
        nonce = fields.get("proof_intent_nonce")
        row = (self.directory.rows.get(nonce) or self._pinned.get(nonce)) if nonce is not None else None
        if nonce is not None and row is None:
            return error(404, "PROOF_INTENT_NOT_FOUND", f"no intent with nonce {nonce!r}")
        now = self.env.now
        update = dict(fields)
        status = update.get("status", request.status)
        if status != request.status:
            update["stage_entered_at"] = now
        if "last_contact_at" not in update and status in CONTACT_STAGES and request.last_contact_at is None:
            update["last_contact_at"] = now
        changed = [key for key, field in PATCH_FIELDS.items()
                   if field in update and update[field] != getattr(request, field)]
        update["updated_at"] = now
        updated = self.requests[request_id] = request.model_copy(update=update)
        if row is not None and nonce is not None:
            self._pinned[nonce] = row
        old = request.proof_intent_nonce
        if old is not None and old != updated.proof_intent_nonce and not self.requests_for_nonces([old], 1):
            self._pinned.pop(old, None)
        self.audit.write(now, AUDIT_ACTION, f"beta-request:{request_id}", requestId=request_id, actor=actor,
                         role=role, changed=changed, status=updated.status, owner=updated.owner,
                         proofIntentNonce=updated.proof_intent_nonce)
        item = self._notify(updated)
        target = notification_status(updated)
        if self.inbox.status_of(item) != target:
            self.inbox.sync_status(item, target, actor)
        return ok({"request": self.view(updated)})
