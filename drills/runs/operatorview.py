"""``beamdrill inbox``, ``alerts`` and ``dead-letters``: the operator pages of a finished run.

Each command reads the file the run wrote at its end (``inbox.json``, ``alerts.json``,
``dead-letters.json``; see :mod:`drills.runs.runner`) and ``result.json`` for the epoch, and
renders the page as the dashboard lists it (beam-model §9.3-§9.5), times shown as the
operator's clock (epoch + virtual time) with the virtual seconds beside. The models below
read only the fields the pages show and ignore the rest, so a file with more fields reads.
A missing directory or file, JSON that does not parse or a file of the wrong shape is an
:class:`OperatorViewError`: one line per problem, naming the file.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from rich.console import Group, RenderableType
from rich.text import Text

from drills.runs.wholetable import WholeTable
from simulator.kernel.problems import InputError, Problem, validation_problems

#: How many alert transitions the timeline shows (the latest ones).
TIMELINE_LIMIT: Final[int] = 20
#: The Alerts page's columns: "firing since" is when the alert began (the timeline's
#: "fired"), Beam's ``startedAt`` is the newest sample's request time.
ALERT_COLUMNS: Final[tuple[str, ...]] = ("id", "severity", "value", "threshold", "unit", "firing since",
                                         "startedAt (newest sample)")
ALERT_TIMES: Final[str] = (
    "firing since: the first evaluation (every 15 s, or a read) that saw the alert firing, its \"fired\" in the "
    "timeline. "
    "startedAt (newest sample): Beam's startedAt, the request time of the newest intent the alert samples, or "
    "the read's time when it samples none (beam-model §9.3); not when the alert began.")
INBOX_UPDATED: Final[str] = (
    "updated: Beam's updatedAt, and the write that set it. Every write sets it: an operator's PATCH (patch), a "
    "partner request's change (sync), and every read of the alerts while the item's alert is critical (alert "
    "read: the simulator reads every 15 s, and once more when the run writes alerts.json). Each is an "
    "inbox_updated event in events.jsonl.")
TRANSITION_VERBS: Final[dict[str, str]] = {"alert_fired": "fired", "alert_changed": "changed",
                                           "alert_cleared": "cleared"}


class OperatorViewError(InputError):
    """A run directory's operator file cannot be shown."""


class ApiRecord(BaseModel):
    """A record as the API writes it (camelCase keys); unknown keys are ignored."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


class AlertRow(ApiRecord):
    """One alert of alerts.json."""

    id: str
    severity: str
    value: int | float
    threshold: int | float
    value_unit: str
    started_at: float


class TransitionRow(ApiRecord):
    """One firing transition of alerts.json."""

    time: float
    kind: str
    alert_id: str
    severity: str
    previous_severity: str | None = None
    value: int | float


class AlertsFile(ApiRecord):
    """alerts.json: the alerts read at the end of the run, when each started firing (alert
    id → virtual time; absent in files of older runs) and every transition recorded."""

    alerts: list[AlertRow]
    firing_since: dict[str, float] = {}
    transitions: list[TransitionRow]


class InboxSummaryRow(ApiRecord):
    """The inbox summary: counts by status and by source."""

    total: int
    by_status: dict[str, int]
    by_source: dict[str, int]


class InboxItemRow(ApiRecord):
    """One inbox item of inbox.json."""

    id: int
    source_key: str
    severity: str
    status: str
    owner: str | None = None
    next_action: str | None = None
    updated_at: float


class InboxFile(ApiRecord):
    """inbox.json: the inbox summary, its items in the inbox's order, and which write set
    each item's updatedAt (item id → created, alert read, upsert, patch or sync; absent in
    files of older runs)."""

    summary: InboxSummaryRow
    items: list[InboxItemRow]
    updated_by: dict[int, str] = {}


class DeadLetterRow(BaseModel):
    """One row of the dead-letter page (the bus's own column names)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    nonce: str
    sender: str
    recipient: str
    intent: str
    retry_count: int
    error: str | None = None
    hint_kind: str
    hint: str


class DeadLetterFile(ApiRecord):
    """dead-letters.json: the page's figures and its rows."""

    count: int
    unique_senders: int
    unique_recipients: int
    max_retry_count: int
    rows: list[DeadLetterRow]


class RunClock(BaseModel):
    """The wall-clock time of a run's virtual t=0, from result.json."""

    epoch: datetime

    def when(self, t: float) -> str:
        """Virtual time ``t`` as the operator's clock shows it, with the virtual seconds."""
        stamp = self.epoch + timedelta(seconds=t)
        return f"{stamp.isoformat(timespec='milliseconds').replace('+00:00', 'Z')} (t={t:g}s)"


FileModel = TypeVar("FileModel", bound=BaseModel)


def read_json(run: Path, name: str) -> Any:
    """The JSON document ``name`` of run directory ``run``; raise :class:`OperatorViewError`."""
    path = run / name
    file = str(path)
    if not run.is_dir():
        raise OperatorViewError([Problem(file=file, field="--run", message="expected a run directory written by "
                                         f"beamdrill run, found no directory {str(run)!r}")])
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OperatorViewError([Problem(file=file, field="(file)", message="expected the file every run writes, "
                                         "found none (a run of an older beamdrill? run it again)")]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as error:
        raise OperatorViewError([Problem(file=file, field="(file)", message="expected a readable UTF-8 JSON file, "
                                         f"found {type(error).__name__}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise OperatorViewError([Problem(file=file, field=f"line {error.lineno}, column {error.colno}",
                                         message=f"expected valid JSON, found {error.msg.lower()}")]) from None


def _validated(data: Any, run: Path, name: str, model: type[FileModel]) -> FileModel:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise OperatorViewError(validation_problems(error, str(run / name), model)) from None


def load_file(run: Path, name: str, model: type[FileModel]) -> FileModel:
    """Read and validate ``run/name`` as ``model``; raise :class:`OperatorViewError`."""
    return _validated(read_json(run, name), run, name, model)


def load_document(run: Path, name: str, model: type[BaseModel]) -> Any:
    """``run/name`` exactly as the run wrote it (every key, in its order), once it reads as
    ``model``, the page's shape; raise :class:`OperatorViewError`. What ``--json`` prints."""
    data = read_json(run, name)
    _validated(data, run, name, model)
    return data


def load_clock(run: Path) -> RunClock:
    """The run's epoch from ``result.json`` (``scenario.epoch``)."""
    data = read_json(run, "result.json")
    scenario = data.get("scenario") if isinstance(data, dict) else None
    epoch = scenario.get("epoch") if isinstance(scenario, dict) else None
    try:
        parsed = datetime.fromisoformat(str(epoch).replace("Z", "+00:00"))
    except ValueError:
        raise OperatorViewError([Problem(file=str(run / "result.json"), field="scenario.epoch",
                                         message=f"expected an ISO 8601 time, found {epoch!r}")]) from None
    utc = parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)
    return RunClock(epoch=utc)


def _number(value: int | float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _cells(*values: str) -> list[Text]:
    """Table cells as plain text: values from a file are never read as rich markup."""
    return [Text(value) for value in values]


def render_alerts(alerts: AlertsFile, clock: RunClock) -> list[RenderableType]:
    """The Alerts page: the alerts firing at the end of the run, then the firing timeline."""
    parts: list[RenderableType] = []
    if alerts.alerts:
        table = WholeTable(title=f"{_plural(len(alerts.alerts), 'alert')} firing at the end of the run")
        table.add_id_column("id")
        for name in ALERT_COLUMNS[1:]:
            table.add_column(name, justify="right" if name in ("value", "threshold") else "left", no_wrap=True)
        for alert in alerts.alerts:
            since = alerts.firing_since.get(alert.id)
            table.add_row(*_cells(alert.id, alert.severity, _number(alert.value), _number(alert.threshold),
                                  alert.value_unit, "-" if since is None else clock.when(since),
                                  clock.when(alert.started_at)))
        parts.append(table)
        parts.append(Text(ALERT_TIMES))
    else:
        parts.append(Text("no alerts firing at the end of the run"))
    shown = alerts.transitions[-TIMELINE_LIMIT:]
    lines = [f"timeline ({_plural(len(alerts.transitions), 'transition')}"
             + (f", the last {len(shown)} shown)" if len(shown) < len(alerts.transitions) else ")")]
    for change in shown:
        previous = f" (was {change.previous_severity})" if change.previous_severity else ""
        lines.append(f"  {clock.when(change.time)}  {TRANSITION_VERBS.get(change.kind, change.kind):<7} "
                     f"{change.alert_id} {change.severity}{previous}, value {_number(change.value)}")
    if not shown:
        lines.append("  no alert fired during the run")
    parts.append(Text("\n".join(lines)))
    return parts


def render_inbox(inbox: InboxFile, clock: RunClock, status: str | None = None) -> list[RenderableType]:
    """The Inbox page: the summary line, then the items (of one status, if given)."""
    summary = inbox.summary
    counts = ", ".join(f"{name} {count}" for name, count in summary.by_status.items())
    sources = ", ".join(f"{name} {count}" for name, count in summary.by_source.items())
    parts: list[RenderableType] = [Text(f"inbox: {_plural(summary.total, 'item')} ({counts}; {sources})")]
    items = [item for item in inbox.items if status is None or item.status == status]
    if not items:
        parts.append(Text(f"no {status} items" if status else "no items"))
        return parts
    table = WholeTable(title=_plural(len(items), f"{status} item" if status else "item"))
    table.add_id_column("id", justify="right")
    table.add_id_column("key")
    for name in ("severity", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("owner", "next action"):
        table.add_column(name, overflow="fold")
    table.add_column("updated", no_wrap=True)
    for item in items:
        by = inbox.updated_by.get(item.id)
        table.add_row(*_cells(str(item.id), item.source_key, item.severity, item.status, item.owner or "-",
                              item.next_action or "-", clock.when(item.updated_at) + (f", {by}" if by else "")))
    parts.append(table)
    parts.append(Text(INBOX_UPDATED))
    return parts


def render_dead_letters(page: DeadLetterFile) -> list[RenderableType]:
    """The dead-letter page: its figures, then one row per dead letter with the kind of its
    requeue hint, then the text of each hint shown (one per kind, the same for every row)."""
    parts: list[RenderableType] = [Text(
        f"dead letters: {page.count}, unique senders: {page.unique_senders}, "
        f"unique recipients: {page.unique_recipients}, max retry_count: {page.max_retry_count}")]
    if not page.rows:
        parts.append(Text("no dead letters"))
        return parts
    table = WholeTable()
    for name in ("message id", "nonce", "sender", "recipient", "intent"):
        table.add_id_column(name)
    for name in ("retry_count", "error", "hint"):
        table.add_column(name, justify="right" if name == "retry_count" else "left", no_wrap=True)
    hints: dict[str, str] = {}
    for row in page.rows:
        hints.setdefault(row.hint_kind, row.hint)
        table.add_row(*_cells(row.id, row.nonce, row.sender, row.recipient, row.intent, str(row.retry_count),
                              row.error or "-", row.hint_kind))
    parts.append(table)
    parts.append(Text("\n".join(["requeue hints", *(f"  {kind}: {hint}" for kind, hint in hints.items())])))
    return parts


def alerts_view(run: Path) -> Group:
    """``beamdrill alerts --run DIR``."""
    return Group(*render_alerts(load_file(run, "alerts.json", AlertsFile), load_clock(run)))


def inbox_view(run: Path, status: str | None = None) -> Group:
    """``beamdrill inbox --run DIR [--status S]``."""
    return Group(*render_inbox(load_file(run, "inbox.json", InboxFile), load_clock(run), status))


def dead_letters_view(run: Path) -> Group:
    """``beamdrill dead-letters --run DIR``."""
    return Group(*render_dead_letters(load_file(run, "dead-letters.json", DeadLetterFile)))


def alerts_document(run: Path) -> Any:
    """``beamdrill alerts --run DIR --json``: alerts.json as written."""
    return load_document(run, "alerts.json", AlertsFile)


def inbox_document(run: Path, status: str | None = None) -> Any:
    """``beamdrill inbox --run DIR [--status S] --json``: inbox.json as written, its items
    only those in ``status`` when given, and ``updatedBy`` only for them (the summary still
    counts them all, as the page does)."""
    document = load_document(run, "inbox.json", InboxFile)
    if status is None:
        return document
    items = [item for item in document["items"] if item["status"] == status]
    kept = {str(item["id"]) for item in items}
    filtered = {**document, "items": items}
    if "updatedBy" in document:
        filtered["updatedBy"] = {key: by for key, by in document["updatedBy"].items() if key in kept}
    return filtered


def dead_letters_document(run: Path) -> Any:
    """``beamdrill dead-letters --run DIR --json``: dead-letters.json as written."""
    return load_document(run, "dead-letters.json", DeadLetterFile)
