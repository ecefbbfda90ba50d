"""Backups of Beam's two stores, and restores from them (beam-model §12's backup/restore drill).

Beam keeps the directory's rows and the bus's messages in SQLite in WAL mode; its drill
copies each database together with its ``-wal`` and ``-shm`` files, a consistent
snapshot. Here a snapshot is a copy of every row a store holds at one virtual instant,
with the ledger's counts and retention's compacted counts of the same instant, so a
restore gives back exactly the store of that instant. What lives in a process's memory
(connections, waiters, rate windows, attempts under way) is never in a snapshot.

A restore replaces the live store: a row the backup holds comes back as it was then; a
row admitted after the backup is gone, and the ledger names it in
:attr:`~simulator.kernel.lifecycle.Ledger.lost_in_restore` (never silently: the
conservation check counts it there). Each changed row is an event: ``lost_in_restore``
for a row dropped, a forced ``transition`` marked ``restored`` for a row put back in an
earlier state, then one ``store_restored`` per store with its per-state counts.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any, Iterable, NamedTuple

from simulator.beam.bus import Bus
from simulator.beam.busrows import BusMessage
from simulator.beam.directory import Directory
from simulator.beam.relay import IntentRow
from simulator.kernel.events import EventStream
from simulator.kernel.lifecycle import Ledger
from simulator.kernel.retention import Retention

#: Bus fields a snapshot's digest covers: the ``beam_messages`` columns.
_BUS_COLUMNS = ("id", "nonce", "sender", "recipient", "intent", "status", "priority", "retry_count", "max_retries",
                "next_retry_at", "created_at", "delivered_at", "acked_at", "failed_at", "error")
#: Directory fields a snapshot's digest covers: the ``intent_log`` columns.
_ROW_COLUMNS = ("nonce", "sender", "recipient", "intent", "origin", "status", "requested_at", "delivered_at",
                "finished_at", "error_code")


class LedgerState(NamedTuple):
    """A ledger as of a backup: counts per state, the journal's length, losses so far."""

    counts: dict[str, int]
    journal_mark: int
    lost: tuple[str, ...]
    accepted: int


class DirectorySnapshot(NamedTuple):
    """The directory's ``intent_log`` as of a backup."""

    rows: dict[str, IntentRow]
    ledger: LedgerState
    compacted: dict[str, int]


class BusSnapshot(NamedTuple):
    """The bus's ``beam_messages`` as of a backup, with what its stats read."""

    messages: dict[str, BusMessage]
    ledger: LedgerState
    compacted: dict[str, int]
    sent_by_agent: dict[str, int]
    received_by_agent: dict[str, int]
    created: tuple[float, ...]


class RestoreLoss(NamedTuple):
    """What a restore did to one store: the nonces it dropped and the rows it rolled back."""

    lost: list[str]
    rolled_back: int


def start_journal(ledger: Ledger) -> None:
    """Make ``ledger`` list the nonces it admits from now on (a backup needs it)."""
    if ledger.journal is None:
        ledger.journal = []


def _ledger_state(ledger: Ledger) -> LedgerState:
    start_journal(ledger)
    assert ledger.journal is not None
    return LedgerState(dict(ledger.counts), len(ledger.journal), tuple(ledger.lost_in_restore), ledger.accepted)


def _copy_row(row: IntentRow) -> IntentRow:
    copied = copy.copy(row)
    copied.answer = None
    copied.waiting = False
    return copied


def snapshot_directory(directory: Directory) -> DirectorySnapshot:
    """Copy the directory's rows, as the drill copies ``beam-directory.sqlite`` with its WAL."""
    return DirectorySnapshot({nonce: _copy_row(row) for nonce, row in directory.rows.items()},
                             _ledger_state(directory.ledger), dict(directory.retention.compacted))


def snapshot_bus(bus: Bus) -> BusSnapshot:
    """Copy the bus's messages, as the drill copies ``beam-bus.sqlite`` with its WAL."""
    return BusSnapshot({nonce: copy.copy(msg) for nonce, msg in bus.by_nonce.items()}, _ledger_state(bus.ledger),
                       dict(bus.retention.compacted), dict(bus.sent_by_agent), dict(bus.received_by_agent),
                       bus.created_times())


def _digest(rows: Iterable[Any], columns: tuple[str, ...]) -> str:
    hashed = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r.nonce):
        hashed.update(repr(tuple(getattr(row, column) for column in columns)).encode())
    return hashed.hexdigest()


def directory_digest(rows: Iterable[IntentRow]) -> str:
    """SHA-256 over the ``intent_log`` columns of ``rows``: the drill's checksum."""
    return _digest(rows, _ROW_COLUMNS)


def bus_digest(messages: Iterable[BusMessage]) -> str:
    """SHA-256 over the ``beam_messages`` columns of ``messages``: the drill's checksum."""
    return _digest(messages, _BUS_COLUMNS)


def _replace(events: EventStream, path: str, live: dict[str, Any], saved: dict[str, Any], ledger: Ledger,
             state: LedgerState, retention: Retention, compacted: dict[str, int]) -> tuple[RestoreLoss, list[Any]]:
    """Replace ``live`` (a store's index by nonce) with copies of ``saved``; account in
    ``ledger`` and ``retention``; emit the changes. Return the loss and the new rows."""
    journal = ledger.journal or []
    lost = list(state.lost) + journal[state.journal_mark:]
    rolled_back = 0
    emit = events.active
    for nonce, row in live.items():
        before = saved.get(nonce)
        if before is None:
            if emit:
                events.emit("lost_in_restore", nonce, path=path, status=row.status)
        elif before.status != row.status:
            rolled_back += 1
            if emit:
                events.emit_data("transition", nonce, {"path": path, "from": row.status, "to": before.status,
                                                       "forced": True, "restored": True})
    restored = [copy.copy(row) for row in saved.values()]
    for row in restored:
        if row.nonce not in live and emit:  # compacted since the backup: back again
            events.emit_data("transition", row.nonce, {"path": path, "from": None, "to": row.status,
                                                       "forced": True, "restored": True})
    live.clear()
    for row in restored:
        live[row.nonce] = row
    ledger.restore(state.counts, lost)
    retention.compacted.clear()
    retention.compacted.update(compacted)
    for row in restored:
        if row.finished_at is not None:
            retention.finished(row)
    if emit:
        events.emit("store_restored", None, path=path, counts=dict(state.counts), lost=len(lost))
    return RestoreLoss(lost[len(state.lost):], rolled_back), restored


def restore_directory(directory: Directory, saved: DirectorySnapshot) -> RestoreLoss:
    """Put the directory's rows back as ``saved`` holds them (the process must be down)."""
    if directory.up:
        raise RuntimeError("the directory must be stopped before its store is restored")
    directory.resumed.clear()
    loss, _ = _replace(directory.events, "directory", directory.rows,
                       {nonce: _copy_row(row) for nonce, row in saved.rows.items()}, directory.ledger,
                       saved.ledger, directory.retention, saved.compacted)
    return loss


def restore_bus(bus: Bus, saved: BusSnapshot) -> RestoreLoss:
    """Put the bus's messages back as ``saved`` holds them (the process must be down)."""
    if bus.up:
        raise RuntimeError("the bus must be stopped before its store is restored")
    loss, restored = _replace(bus.events, "bus", bus.by_nonce, saved.messages,
                              bus.ledger, saved.ledger, bus.retention, saved.compacted)
    bus.by_id.clear()
    for msg in restored:
        bus.by_id[msg.id] = msg
    for mapping, values in ((bus.sent_by_agent, saved.sent_by_agent),
                            (bus.received_by_agent, saved.received_by_agent)):
        mapping.clear()
        mapping.update(values)
    bus.reload(saved.created)
    return loss
