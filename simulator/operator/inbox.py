"""The operator inbox (beam-model §9.4): notifications operators acknowledge and act on.

Two sources write items: critical alerts (``critical_alert``, key ``critical-alert:<id>``,
upserted by :class:`~simulator.operator.alerts.AlertEngine` each time it evaluates, which is the
simulator's "read" of the alerts) and partner requests (``beta_request``, key
``beta-request:<id>``, through the same :meth:`Inbox.upsert` seam). Items never close by
themselves; a later upsert keeps their status unless it asks for a reset.

Operators change an item with :meth:`Inbox.patch`, Beam's ``PATCH
/admin/operator-notifications/:id`` (operator or above): ``status``, ``owner`` and
``nextAction``; every accepted patch is audited as ``admin.operator_notification.updated``.
Timestamps follow Beam's ``updateOperatorNotificationStatus``: moving to ``new`` clears
``acknowledged_at`` and ``actor``; any other status keeps ``acknowledged_at`` or sets it
to now; ``acted_at`` is now for ``acted`` and cleared otherwise. Times are virtual seconds.

Every write sets ``updated_at`` to now, as Beam's do, including an upsert that changes
nothing an operator sees: a read of the alerts upserts every critical item again, so while
its alert stays critical an item's ``updatedAt`` follows the reads (the simulator reads every
15 s, and once more when a run writes ``alerts.json``). So that no ``updatedAt`` is
unexplained, each write is an ``inbox_updated`` event (key, id, status and ``by``: created,
alert read, upsert, patch or sync) when somebody listens, and :meth:`Inbox.updated_by` says
which write set an item's ``updatedAt``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, Mapping, cast

import simpy

from simulator.operator.api import ApiModel, ApiResult, error, ok, require_role
from simulator.beam.audit import AuditLog
from simulator.kernel.events import EventStream

Status = Literal["new", "acknowledged", "acted"]
#: Why an upsert refreshed an existing item: a read of the alerts, or another writer.
RefreshReason = Literal["alert read", "upsert"]
#: Which write last set an item's ``updated_at``.
UpdatedBy = Literal["created", "alert read", "upsert", "patch", "sync"]
Source = Literal["beta_request", "critical_alert"]
STATUSES: Final[tuple[str, ...]] = ("new", "acknowledged", "acted")
SOURCES: Final[tuple[str, ...]] = ("beta_request", "critical_alert")
DEFAULT_LIMIT: Final[int] = 200
MAX_LIMIT: Final[int] = 5000
AUDIT_ACTION: Final[str] = "admin.operator_notification.updated"
#: The body keys of a PATCH.
PATCH_KEYS: Final[tuple[str, ...]] = ("status", "owner", "nextAction")


class Notification(ApiModel):
    """One ``operator_notifications`` row."""

    id: int
    source_type: Source
    source_key: str
    beta_request_id: int | None = None
    alert_id: str | None = None
    severity: Literal["info", "warning", "critical"]
    title: str
    message: str
    href: str | None = None
    owner: str | None = None
    next_action: str | None = None
    status: Status = "new"
    created_at: float
    updated_at: float
    acknowledged_at: float | None = None
    acted_at: float | None = None
    actor: str | None = None
    details: dict[str, Any] | None = None


class InboxSummary(ApiModel):
    """Counts of items by status and by source."""

    total: int
    by_status: dict[str, int]
    by_source: dict[str, int]


def normalize_status(value: Any) -> str | None:
    """A status as Beam reads it from a request (trimmed, lower case), or None if invalid."""
    if not isinstance(value, str):
        return None
    status = value.strip().lower()
    return status if status in STATUSES else None


def _optional_text(value: Any) -> str | None:
    """Beam's ``normalizeOptionalString``: a non-blank string trimmed, else None."""
    return value.strip() if isinstance(value, str) and value.strip() else None


def clamp_limit(limit: int | None) -> int:
    """The list limit: 200 by default, between 1 and 5000."""
    return DEFAULT_LIMIT if limit is None else max(1, min(MAX_LIMIT, int(limit)))


@dataclass(slots=True)
class _Item:
    """A notification's mutable state (the alert engine refreshes critical items at every
    evaluation, so they are not rebuilt as pydantic records each time)."""

    id: int
    source_type: str
    source_key: str
    severity: str
    title: str
    message: str
    created_at: float
    updated_at: float
    beta_request_id: int | None = None
    alert_id: str | None = None
    href: str | None = None
    owner: str | None = None
    next_action: str | None = None
    status: str = "new"
    acknowledged_at: float | None = None
    acted_at: float | None = None
    actor: str | None = None
    details: dict[str, Any] | None = None
    updated_by: str = "created"  # the simulator's note of which write set updated_at; not Beam's

    def view(self) -> Notification:
        """The item as the API returns it."""
        record = asdict(self)
        del record["updated_by"]
        return Notification.model_validate(record)


class Inbox:
    """Every operator notification of one world, keyed by id and by source key."""

    def __init__(self, env: simpy.Environment, audit: AuditLog, events: EventStream | None = None) -> None:
        self.env = env
        self.audit = audit
        self.events = events
        self._items: dict[int, _Item] = {}
        self._by_key: dict[str, _Item] = {}
        self._next_id = 1
        #: Every status a partner request's sync set, in order: (time, source key, status, actor).
        self.sync_moves: list[tuple[float, str, str, str]] = []

    # -- writers ---------------------------------------------------------------------------

    def upsert(self, source_type: Source, source_key: str, *, severity: str, title: str, message: str,
               href: str | None = None, owner: str | None = None, next_action: str | None = None,
               default_next_action: str | None = None, details: dict[str, Any] | None = None,
               reset_status: bool = False, beta_request_id: int | None = None,
               alert_id: str | None = None, reason: RefreshReason = "upsert") -> Notification:
        """Create the item for ``source_key`` in status ``new``, or refresh it (Beam's
        ``upsertOperatorNotification``): title, message, severity and details are replaced;
        href, owner, ids and next action are kept unless given (``default_next_action``
        fills an item that has none); the status and its timestamps are kept unless
        ``reset_status`` puts the item back to ``new``; ``updated_at`` is now either way, and
        ``reason`` says why an existing item was upserted. Returns the item as it is now."""
        self.refresh(source_type, source_key, severity=severity, title=title, message=message, href=href,
                     owner=owner, next_action=next_action, default_next_action=default_next_action,
                     details=details, reset_status=reset_status, beta_request_id=beta_request_id,
                     alert_id=alert_id, reason=reason)
        return self._by_key[source_key].view()

    def refresh(self, source_type: Source, source_key: str, *, severity: str, title: str, message: str,
                href: str | None = None, owner: str | None = None, next_action: str | None = None,
                default_next_action: str | None = None, details: dict[str, Any] | None = None,
                reset_status: bool = False, beta_request_id: int | None = None, alert_id: str | None = None,
                reason: RefreshReason = "upsert") -> int:
        """:meth:`upsert` without building the returned record; returns the item's id."""
        now = self.env.now
        item = self._by_key.get(source_key)
        if item is None:
            item = _Item(id=self._next_id, source_type=source_type, source_key=source_key,
                         beta_request_id=beta_request_id, alert_id=alert_id, severity=severity, title=title,
                         message=message, href=href, owner=owner,
                         next_action=next_action if next_action is not None else default_next_action,
                         created_at=now, updated_at=now, details=details)
            self._next_id += 1
            self._items[item.id] = self._by_key[source_key] = item
            self._updated(item, "created")
            return item.id
        item.source_type, item.severity, item.title, item.message = source_type, severity, title, message
        if beta_request_id is not None:
            item.beta_request_id = beta_request_id
        if alert_id is not None:
            item.alert_id = alert_id
        if href is not None:
            item.href = href
        if owner is not None:
            item.owner = owner
        if next_action is not None:
            item.next_action = next_action
        elif item.next_action is None:
            item.next_action = default_next_action
        item.updated_at = now
        item.details = details
        if reset_status:
            item.status, item.acknowledged_at, item.acted_at, item.actor = "new", None, None, None
        self._updated(item, reason)
        return item.id

    def patch(self, notification_id: int, changes: Mapping[str, Any], *, role: str,
              actor: str = "operator") -> ApiResult:
        """``PATCH /admin/operator-notifications/:id`` with body ``changes`` (``status``,
        ``owner``, ``nextAction``; other keys are ignored).

        Answers 403 ``FORBIDDEN`` below operator, 400 ``INVALID_NOTIFICATION_STATUS`` for a
        status other than new/acknowledged/acted, 400 ``EMPTY_PATCH`` when none of the
        three keys is present, 404 ``NOT_FOUND`` for an unknown id; otherwise 200 with the
        updated item, and an audit row ``admin.operator_notification.updated``.
        """
        refused = require_role(role, "operator")
        if refused is not None:
            return refused
        status: str | None = None
        if "status" in changes:
            status = normalize_status(changes["status"])
            if status is None:
                return error(400, "INVALID_NOTIFICATION_STATUS",
                             f"status must be one of {', '.join(STATUSES)}, not {changes['status']!r}")
        if not any(key in changes for key in PATCH_KEYS):
            return error(400, "EMPTY_PATCH", "Provide at least one of status, owner or nextAction")
        if notification_id not in self._items:
            return error(404, "NOT_FOUND", f"Notification {notification_id} not found")
        owner = _optional_text(changes["owner"]) if "owner" in changes else ...
        next_action = _optional_text(changes["nextAction"]) if "nextAction" in changes else ...
        item = self._transition(notification_id, status, actor, owner, next_action, "patch")
        self.audit.write(self.env.now, AUDIT_ACTION, str(item.id), actor=actor, role=role,
                         sourceType=item.source_type, sourceKey=item.source_key, status=item.status,
                         owner=item.owner, nextAction=item.next_action)
        return ok({"ok": True, "notification": item.view().view()})

    def sync_status(self, notification_id: int, status: Status, actor: str) -> Notification:
        """Set an item's status as Beam's request-following sync does (the partner request
        changed): the same timestamps as a patch, no audit row of its own."""
        if normalize_status(status) != status:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        item = self._transition(notification_id, status, actor, ..., ..., "sync")
        self.sync_moves.append((self.env.now, item.source_key, item.status, actor))
        return item.view()

    def _transition(self, notification_id: int, status: str | None, actor: str, owner: Any,
                    next_action: Any, by: Literal["patch", "sync"]) -> _Item:
        """Beam's ``updateOperatorNotificationStatus``; ``...`` leaves owner or next action as is."""
        item = self._items[notification_id]
        now = self.env.now
        target = status if status is not None else item.status
        item.status = target
        if owner is not ...:
            item.owner = owner
        if next_action is not ...:
            item.next_action = next_action
        item.updated_at = now
        if target == "new":
            item.acknowledged_at = None
        elif item.acknowledged_at is None:
            item.acknowledged_at = now
        item.acted_at = now if target == "acted" else None
        item.actor = None if target == "new" else actor
        self._updated(item, by)
        return item

    def _updated(self, item: _Item, by: UpdatedBy) -> None:
        """Note which write set ``item.updated_at`` and emit it as an ``inbox_updated`` event."""
        item.updated_by = by
        if self.events is not None and self.events.active:
            self.events.emit_data("inbox_updated", None, {"key": item.source_key, "id": item.id,
                                                          "status": item.status, "by": by})

    # -- readers ---------------------------------------------------------------------------

    def get(self, notification_id: int) -> Notification | None:
        """The item with this id, if any."""
        item = self._items.get(notification_id)
        return None if item is None else item.view()

    def status_of(self, notification_id: int) -> str:
        """The status of the item with this id (``KeyError`` for an unknown id)."""
        return self._items[notification_id].status

    def updated_by(self, notification_id: int) -> UpdatedBy | None:
        """Which write set the item's ``updated_at``: ``created``, ``alert read`` (a read of
        the alerts upserted it while its alert was critical), ``upsert``, ``patch`` (an
        operator's PATCH) or ``sync`` (its partner request changed); None for an unknown id."""
        item = self._items.get(notification_id)
        return None if item is None else cast(UpdatedBy, item.updated_by)

    def by_key(self, source_key: str) -> Notification | None:
        """The item for a source key (``critical-alert:<id>``, ``beta-request:<id>``), if any."""
        item = self._by_key.get(source_key)
        return None if item is None else item.view()

    def items(self, status: str | None = None, source: str | None = None,
              limit: int | None = None) -> list[Notification]:
        """Items, ``new`` first, then ``acknowledged``, then ``acted``; within a status the
        most recently updated first (Beam sorts ``datetime(updated_at)``, whole seconds),
        then the highest id. ``limit``: 200 by default, at most 5000."""
        items = [item for item in self._items.values()
                 if (status is None or item.status == status) and (source is None or item.source_type == source)]
        items.sort(key=lambda item: (STATUSES.index(item.status), -math.floor(item.updated_at), -item.id))
        return [item.view() for item in items[:clamp_limit(limit)]]

    def summary(self) -> InboxSummary:
        """Counts of every item by status and by source."""
        by_status = dict.fromkeys(STATUSES, 0)
        by_source = dict.fromkeys(SOURCES, 0)
        for item in self._items.values():
            by_status[item.status] += 1
            by_source[item.source_type] += 1
        return InboxSummary(total=len(self._items), by_status=by_status, by_source=by_source)

    def count(self, status: str) -> int:
        """How many items are in ``status`` now (a metrics gauge)."""
        return sum(1 for item in self._items.values() if item.status == status)

    def __len__(self) -> int:
        return len(self._items)
