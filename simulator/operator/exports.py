"""Read-only exports of the observability data (beam-model §9.6) and of the dead letters
(§9.5): ``GET /observability/export/:dataset?format=json|csv|ndjson&hours``.

An export returns text and a suggested file name; the caller writes the file. Nothing
here changes the world: rows are read, never moved, forgotten or counted.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import TYPE_CHECKING, Any, Final, Iterable, Mapping

import simpy
from pydantic import BaseModel

from simulator.operator.api import ApiResult, error, ok, require_role
from simulator.operator.deadletters import DEAD_LETTER_COLUMNS, DeadLetterPage, dead_letter_page
from simulator.operator.intentview import INTENT_COLUMNS, intent_view

if TYPE_CHECKING:
    from simulator.beam.bus import Bus
    from simulator.beam.directory import Directory

DATASETS: Final[tuple[str, ...]] = ("intents", "audit", "errors", "federation", "alerts")
CONTENT_TYPES: Final[dict[str, str]] = {"json": "application/json", "csv": "text/csv",
                                        "ndjson": "application/x-ndjson"}
DEFAULT_HOURS: Final[float] = 7 * 24.0
MIN_HOURS: Final[float] = 1.0
MAX_HOURS: Final[float] = 90 * 24.0
DEFAULT_LIMIT: Final[int] = 500
MAX_LIMIT: Final[int] = 5000
HOUR: Final[float] = 3600.0
#: Columns per dataset, in order: the CSV header, also when there are no rows.
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "intents": INTENT_COLUMNS,
    "errors": INTENT_COLUMNS,
    "audit": ("time", "action", "target", "details"),
    "federation": ("peerId", "url", "status", "lastSeen"),
    "alerts": ("id", "severity", "title", "scope", "message", "value", "threshold", "valueUnit", "startedAt"),
    "dead-letters": DEAD_LETTER_COLUMNS,
}
ERROR_STATUSES: Final[frozenset[str]] = frozenset({"failed", "dead_letter"})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def render(dataset: str, rows: list[dict[str, Any]], format: str, meta: Mapping[str, Any]) -> str:
    """The text of an export: a JSON document (``meta`` plus ``rows``), CSV with a header
    row of the dataset's columns, or one JSON object per line."""
    if format == "json":
        return json.dumps({**meta, "count": len(rows), "rows": rows}, indent=2, default=str) + "\n"
    if format == "ndjson":
        return "".join(json.dumps(row, separators=(",", ":"), default=str) + "\n" for row in rows)
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    columns = COLUMNS[dataset]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return stream.getvalue()


def alert_row(alert: Any) -> dict[str, Any]:
    """An alert as a JSON-ready mapping: a pydantic model (camelCase), a mapping or a named tuple."""
    if isinstance(alert, BaseModel):
        return alert.model_dump(mode="json", by_alias=True)
    if isinstance(alert, Mapping):
        return dict(alert)
    if hasattr(alert, "_asdict"):
        return dict(alert._asdict())
    raise TypeError(f"cannot export an alert of type {type(alert).__name__}")


def _number(value: Any, name: str, code: str) -> float | ApiResult:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return error(400, code, f"{name} must be a number, not {value!r}")
    return float(value)


class Exports:
    """The export endpoints and the dead-letter page of one world; read-only."""

    def __init__(self, env: simpy.Environment, directory: Directory, bus: Bus) -> None:
        self.env = env
        self.directory = directory
        self.bus = bus
        self.audit = directory.security.audit

    def rows(self, dataset: str, hours: float = DEFAULT_HOURS, limit: int = DEFAULT_LIMIT,
             alerts: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """A dataset's rows in the window of the last ``hours``, newest first, at most ``limit``.

        ``intents``: the directory's rows by ``requested_at``; ``errors``: those that are
        failed or dead_letter; ``audit``: the audit log by time; ``alerts``: the alerts
        given (the alert engine's, already windowed); ``federation``: none (the simulated
        world has no federation peers).
        """
        cutoff = self.env.now - hours * HOUR
        if dataset in ("intents", "errors"):
            kept = [row for row in self.directory.rows.values() if row.requested_at >= cutoff
                    and (dataset == "intents" or row.status in ERROR_STATUSES)]
            kept.sort(key=lambda row: row.requested_at, reverse=True)
            return [intent_view(row) for row in kept[:limit]]
        if dataset == "audit":
            found: list[dict[str, Any]] = []
            for entry in reversed(self.audit.rows):
                if entry.time < cutoff or len(found) >= limit:
                    break
                found.append({"time": float(entry.time), "action": entry.action, "target": entry.target,
                              "details": dict(entry.details)})
            return found
        if dataset == "alerts":
            return [alert_row(alert) for alert in alerts][:limit]
        if dataset == "federation":
            return []
        raise ValueError(f"unknown dataset {dataset!r}")

    def export(self, dataset: str, format: str = "json", *, hours: float | None = None, limit: int | None = None,
               alerts: Iterable[Any] = (), role: str = "viewer") -> ApiResult:
        """``GET /observability/export/:dataset`` (any role): 200 with ``text``, or a 400
        (``INVALID_EXPORT_DATASET``, ``INVALID_EXPORT_FORMAT``, ``INVALID_EXPORT_WINDOW``,
        ``INVALID_EXPORT_LIMIT``). The window defaults to 7 d and is clamped to 1 h–90 d;
        the limit defaults to 500 and is clamped to 1–5000."""
        refused = require_role(role, "viewer")
        if refused is not None:
            return refused
        if dataset not in DATASETS:
            return error(400, "INVALID_EXPORT_DATASET", f"dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")
        bad_format = self._format(format)
        if bad_format is not None:
            return bad_format
        window = self._window(hours)
        if isinstance(window, ApiResult):
            return window
        count = self._limit(limit, DEFAULT_LIMIT, MAX_LIMIT)
        if isinstance(count, ApiResult):
            return count
        rows = self.rows(dataset, window, count, alerts)
        return self._answer(dataset, format, rows, {"dataset": dataset, "generatedAt": float(self.env.now),
                                                    "windowHours": window, "limit": count})

    def dead_letters(self, sender: str | None = None, recipient: str | None = None, intent: str | None = None,
                     limit: int = 100) -> DeadLetterPage:
        """The dead-letter page: newest first, as the bus orders them (limit clamped to 1–500)."""
        return dead_letter_page(self.bus, sender, recipient, intent, limit)

    def export_dead_letters(self, format: str = "json", *, sender: str | None = None, recipient: str | None = None,
                            intent: str | None = None, limit: int | None = None, role: str = "viewer") -> ApiResult:
        """The dead-letter list as a file (any role): the page's figures in the JSON form,
        its rows in every form."""
        refused = require_role(role, "viewer") or self._format(format)
        if refused is not None:
            return refused
        count = self._limit(limit, 100, 500)
        if isinstance(count, ApiResult):
            return count
        page = self.dead_letters(sender, recipient, intent, count)
        figures = page.view()
        del figures["rows"]
        return self._answer("dead-letters", format, page.rows,
                            {"dataset": "dead-letters", "generatedAt": float(self.env.now), "limit": count, **figures})

    # -- helpers -----------------------------------------------------------------------

    @staticmethod
    def _format(format: str) -> ApiResult | None:
        if format in CONTENT_TYPES:
            return None
        return error(400, "INVALID_EXPORT_FORMAT", f"format must be one of {', '.join(CONTENT_TYPES)}, not {format!r}")

    def _answer(self, dataset: str, format: str, rows: list[dict[str, Any]], meta: dict[str, Any]) -> ApiResult:
        text = render(dataset, rows, format, meta)
        filename = f"beam-{dataset}-t{self.env.now:.0f}.{format}"
        return ok({"dataset": dataset, "format": format, "contentType": CONTENT_TYPES[format], "filename": filename,
                   "count": len(rows), "text": text})

    @staticmethod
    def _window(hours: float | None) -> float | ApiResult:
        if hours is None:
            return DEFAULT_HOURS
        value = _number(hours, "hours", "INVALID_EXPORT_WINDOW")
        if isinstance(value, ApiResult):
            return value
        return min(max(value, MIN_HOURS), MAX_HOURS)

    @staticmethod
    def _limit(limit: int | None, default: int, maximum: int) -> int | ApiResult:
        if limit is None:
            return default
        value = _number(limit, "limit", "INVALID_EXPORT_LIMIT")
        if isinstance(value, ApiResult):
            return value
        return int(min(max(value, 1.0), float(maximum)))

