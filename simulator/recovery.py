"""Backups, disasters and restores of a world's stores (beam-model §12), on virtual time.

A backup is a consistent snapshot of both stores at one instant (:mod:`simulator.beam.backup`)
plus the partner requests the directory's database holds, taken on demand or every
``backups.every`` of a scenario. A disaster destroys both stores while the processes run:
both fail on their next read and stay down. A restore from a chosen backup takes
``downtime``; then the stores are the backup's, the rows admitted after it are gone (named,
per path, in the ledgers and in :class:`~simulator.summary.RestoreReport`), and both
processes boot with their restart recovery: the directory fails what was in flight
(§3.10), the bus queues what was received or dispatched (§4.7). Senders that retry a lost
intent with the same nonce get it admitted again; a retry of one the backup holds is
deduplicated by the bus (§4.3) or claimed by the directory (§3.3).

The time to serve again (RTO) is measured to the first intent served after the restore,
looked for once a virtual second; the intents lost (RPO) are counted by nonce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, NamedTuple

import simpy

from simulator.beam.backup import (
    BusSnapshot, DirectorySnapshot, bus_digest, directory_digest, restore_bus, restore_directory, snapshot_bus,
    snapshot_directory,
)
from simulator.operator.partners import PartnerRequest
from simulator.scenario.model import BackupSpec
from simulator.summary import BackupReport, RecoveryReport, RestoreReport

if TYPE_CHECKING:
    from simulator.world import World

#: How often (virtual seconds) a restore looks for the first intent served after it.
SERVED_POLL: float = 1.0


class Backup(NamedTuple):
    """One backup: both stores' snapshots and the partner requests, as of ``taken_at``."""

    id: str
    label: str | None
    taken_at: float
    directory: DirectorySnapshot
    bus: BusSnapshot
    partner_requests: tuple[dict[int, PartnerRequest], dict[str, int]]
    directory_digest: str
    bus_digest: str

    def report(self) -> BackupReport:
        """The backup as a run reports it."""
        return BackupReport(id=self.id, label=self.label, taken_at=self.taken_at,
                            directory_rows=len(self.directory.rows), bus_messages=len(self.bus.messages),
                            directory_digest=self.directory_digest, bus_digest=self.bus_digest)


class RestoreRecord:
    """One restore while and after it happens; :meth:`Recovery.report` says what it cost."""

    def __init__(self, backup: Backup, disaster_at: float | None, started_at: float) -> None:
        self.backup = backup
        self.disaster_at = disaster_at
        self.started_at = started_at
        self.restored_at: float | None = None
        self.served_at: float | None = None
        self.lost: dict[str, list[str]] = {"directory": [], "bus": []}
        self.rolled_back: dict[str, int] = {"directory": 0, "bus": 0}
        #: The journals' lengths right after the restore: what is admitted later is a retry.
        self.marks: dict[str, int] = {"directory": 0, "bus": 0}
        self.digests_match = False


class Recovery:
    """A world's backups and restores: the world layer's part of the recovery drills."""

    def __init__(self, world: World, spec: BackupSpec | None) -> None:
        self.world = world
        self.spec = spec
        self.backups: list[Backup] = []
        self.taken = 0
        self.disasters: list[float] = []
        self.restores: list[RestoreRecord] = []
        #: When the stores were last destroyed, until a restore.
        self.destroyed_at: float | None = None
        if spec is not None:
            world.env.process(self._scheduled(spec))

    @property
    def active(self) -> bool:
        """Whether there is anything to report (backups scheduled or taken, a disaster, a restore)."""
        return bool(self.taken or self.disasters or self.restores or self.spec is not None)

    def _scheduled(self, spec: BackupSpec) -> Generator[simpy.Event, Any, None]:
        env = self.world.env
        while True:
            yield env.timeout(spec.every)
            if self.world.directory.up and self.world.bus.up:  # nothing to copy while destroyed
                self.take()

    def take(self, label: str | None = None) -> Backup:
        """Back both stores up now, as the drill copies each database with its WAL. Raises
        RuntimeError while the stores are destroyed (there is nothing to copy)."""
        world = self.world
        if self.destroyed_at is not None:
            raise RuntimeError(f"the stores were destroyed at t={self.destroyed_at:g}s: nothing to back up")
        self.taken += 1
        directory, bus = snapshot_directory(world.directory), snapshot_bus(world.bus)
        backup = Backup(f"backup-{self.taken}", label, world.now, directory, bus, world.partners.snapshot(),
                        directory_digest(directory.rows.values()), bus_digest(bus.messages.values()))
        self.backups.append(backup)
        if self.spec is not None:  # keep the newest scheduled backups; labelled ones stay
            scheduled = [old for old in self.backups if old.label is None]
            for old in scheduled[:max(0, len(scheduled) - self.spec.keep)]:
                self.backups.remove(old)
        world.events.emit("backup", None, id=backup.id, label=label, directory_rows=len(directory.rows),
                          bus_messages=len(bus.messages))
        return backup

    def find(self, choice: str, before: float | None = None) -> Backup | None:
        """The backup ``choice`` names: ``latest`` (the newest, taken at or before
        ``before`` when given), else a backup's id or label."""
        if choice == "latest":
            found = [backup for backup in self.backups if before is None or backup.taken_at <= before]
            return found[-1] if found else None
        return next((backup for backup in reversed(self.backups) if choice in (backup.id, backup.label)), None)

    def disaster(self) -> None:
        """Destroy both stores now while the processes run: both go down at once."""
        world = self.world
        now = world.now
        self.disasters.append(now)
        self.destroyed_at = now
        world.events.emit("disaster", None)
        world.directory.stop("disaster")
        world.bus.stop()

    def restore(self, choice: str, downtime: float = 0.0, before: float | None = None) -> Backup:
        """Stop both processes (if running), and after ``downtime`` put both stores back
        as backup ``choice`` holds them and boot both. Raises LookupError for no such backup."""
        backup = self.find(choice, before)
        if backup is None:
            raise LookupError(f"no backup {choice!r} to restore from")
        world = self.world
        record = RestoreRecord(backup, self.destroyed_at, world.now)
        self.restores.append(record)
        world.directory.stop("restore")
        world.bus.stop()
        if downtime <= 0:
            self._restore_now(record)
        else:
            world.env.timeout(downtime).callbacks.append(lambda _event: self._restore_now(record))
        return backup

    def _restore_now(self, record: RestoreRecord) -> None:
        world = self.world
        backup = record.backup
        directory, bus = world.directory, world.bus
        if directory.up:  # restarted meanwhile (a directory_restart fault): stop it again
            directory.stop("restore")
        lost_directory = restore_directory(directory, backup.directory)
        lost_bus = restore_bus(bus, backup.bus)
        world.partners.restore(backup.partner_requests)
        world.observations.restored()
        record.lost = {"directory": lost_directory.lost, "bus": lost_bus.lost}
        record.rolled_back = {"directory": lost_directory.rolled_back, "bus": lost_bus.rolled_back}
        record.digests_match = self.live_digests() == {"directory": backup.directory_digest, "bus": backup.bus_digest}
        record.marks = {"directory": len(directory.ledger.journal or ()), "bus": len(bus.ledger.journal or ())}
        record.restored_at = world.now
        self.destroyed_at = None
        world.events.emit("restored", None, backup=backup.id,
                          lost=len(set(lost_directory.lost) | set(lost_bus.lost)))
        directory.start()
        bus.start()
        world.env.process(self._watch_served(record))

    def _served(self) -> int:
        world = self.world
        bus_counts = world.bus.ledger.counts
        return world.directory.ledger.counts["acked"] + bus_counts["delivered"] + bus_counts["acked"]

    def _watch_served(self, record: RestoreRecord) -> Generator[simpy.Event, Any, None]:
        """Note the first virtual second at which an intent was served after the restore."""
        env = self.world.env
        served = self._served()
        while record.served_at is None:
            yield env.timeout(SERVED_POLL)
            now_served = self._served()
            if now_served > served:
                record.served_at = env.now
            served = min(served, now_served)

    def live_digests(self) -> dict[str, str]:
        """The checksums of the stores as they are now (``directory``, ``bus``)."""
        return {"directory": directory_digest(self.world.directory.rows.values()),
                "bus": bus_digest(self.world.bus.by_nonce.values())}

    def recovered_by_retry(self, record: RestoreRecord) -> int:
        """How many of the intents ``record`` dropped (by nonce, on either path) were
        admitted again since, on either path: a sender's retry with the same nonce."""
        lost = set(record.lost["directory"]) | set(record.lost["bus"])
        again: set[str] = set()
        for path, ledger in (("directory", self.world.directory.ledger), ("bus", self.world.bus.ledger)):
            again.update((ledger.journal or [])[record.marks[path]:])
        return len(lost & again)

    def report(self) -> RecoveryReport | None:
        """Backups, disasters and restores so far; None when none happened and none are scheduled."""
        if not self.active:
            return None
        restores = []
        for record in self.restores:
            if record.restored_at is None:
                continue
            since = record.started_at if record.disaster_at is None else record.disaster_at
            restores.append(RestoreReport(
                backup=record.backup.id, backup_taken_at=record.backup.taken_at, disaster_at=record.disaster_at,
                started_at=record.started_at, restored_at=record.restored_at, served_at=record.served_at,
                rto_seconds=None if record.served_at is None else record.served_at - since,
                lost={path: list(nonces) for path, nonces in record.lost.items()},
                lost_total=len(set(record.lost["directory"]) | set(record.lost["bus"])),
                recovered_by_retry=self.recovered_by_retry(record), rolled_back=dict(record.rolled_back),
                digests_match=record.digests_match))
        return RecoveryReport(backups_taken=self.taken, backups=[backup.report() for backup in self.backups],
                              disasters=list(self.disasters), restores=restores)
