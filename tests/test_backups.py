"""Backups, disasters and restores of the stores (beam-model §12): a crafted sequence worked
out by hand, the accounting of what a restore drops (ledgers, conservation, the delivery
history, metrics), and a property: conservation holds, counting what restores lost, for
any backup interval, disaster time and downtime.

The crafted world: A sends over the bus, B answers after 500 ms, C never connects. Bus
attempts reach the directory at once; the directory's sweep ticks every 5 s.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import open_acl
from simulator import parse_scenario
from simulator.conservation import restore_losses
from simulator.telemetry.metrics import world_registry
from simulator.world import IntentState, World

A, B, C = "a@test.beam.directory", "b@test.beam.directory", "c@test.beam.directory"
SPECS = [{"id": A, "connected": False}, {"id": B, "latency": "500ms"}, {"id": C, "connected": False}]


def make_world(**scenario: Any) -> World:
    return World(parse_scenario({"name": "backups", "agents": SPECS, "acl": open_acl(SPECS), "duration": 120,
                                 "retention": {"finished_rows": None}, **scenario}), seed=1)


def at(world: World, time: float, act: Callable[[], Any]) -> None:
    world.env.timeout(time - world.env.now).callbacks.append(lambda _event: act())


def crafted() -> World:
    """a (bus) at 1 s and a directory row d seeded `delivered` at 2 s; backup b1 at 10 s;
    d's late result acks it at 12 s; b (bus, to B) at 20 s, c (bus, to C, offline) at
    25 s; the stores are destroyed at 30 s; restore from b1 at 31 s, 5 s of downtime; at
    40 s the sender retries b and a with the same nonces."""
    world = make_world()
    world.check_history()
    world.audit_transitions()
    at(world, 1, lambda: world.send(A, B, "agent.ping", {}, "a", "bus"))
    at(world, 2, lambda: world.seed_directory_row(A, B, "agent.ping", "d", status="delivered"))
    at(world, 10, lambda: world.take_backup("b1"))
    at(world, 12, lambda: world.agent_result("d"))
    at(world, 20, lambda: world.send(A, B, "agent.ping", {}, "b", "bus"))
    at(world, 25, lambda: world.send(A, C, "agent.ping", {}, "c", "bus"))
    at(world, 30, world.destroy_stores)
    at(world, 31, lambda: world.restore_stores("b1", downtime=5))
    at(world, 40, lambda: world.send(A, B, "agent.ping", {}, "b", "bus"))
    at(world, 40, lambda: world.send(A, B, "agent.ping", {}, "a", "bus"))
    return world


def test_before_the_disaster_nothing_is_lost() -> None:
    world = crafted()
    world.env.run(until=29)
    assert world.intent("b", "bus") == IntentState("delivered", None, 0)
    assert world.intent("c", "bus") == IntentState("queued", "agent_offline", 1)
    assert world.intent("d", "directory") == IntentState("acked", None, 0)
    assert world.bus_stats()["total"] == 3
    assert [(backup.id, backup.label, backup.taken_at, backup.directory_rows, backup.bus_messages)
            for backup in world.backups()] == [("backup-1", "b1", 10.0, 2, 1)]


def test_the_services_are_down_from_the_disaster_to_the_restore() -> None:
    world = crafted()
    world.env.run(until=33)
    assert (world.directory.up, world.bus.up) == (False, False)
    world.env.run(until=36.5)
    assert (world.directory.up, world.bus.up) == (True, True)


def test_a_restore_drops_what_was_written_after_its_backup_by_name() -> None:
    world = crafted()
    world.env.run(until=36.5)
    assert world.intent("b", "bus") is None and world.intent("c", "bus") is None
    assert world.intent("a", "bus") == IntentState("delivered", None, 0)
    # d was `delivered` in the backup (34 s before the boot, past its 30 s timeout): the boot fails it
    assert world.intent("d", "directory") == IntentState("failed", "TIMEOUT", 0)
    assert world.bus.ledger.lost_in_restore == ["b", "c"]
    assert world.directory.ledger.lost_in_restore == ["b", "c"]
    assert world.bus_stats()["total"] == 1
    assert world.conservation_problems() == []
    assert restore_losses(world.directory.ledger, world.bus.ledger) == [
        "directory: 2 intents lost in restore: b, c", "bus: 2 intents lost in restore: b, c"]


def test_the_restore_report_gives_rto_rpo_and_the_retries_that_recovered() -> None:
    world = crafted()
    summary = world.run(until=60)
    assert summary.conservation == []
    report = summary.recovery
    assert report is not None and report.backups_taken == 1 and report.disasters == [30.0]
    [restore] = report.restores
    assert restore.model_dump() == {
        "backup": "backup-1", "backup_taken_at": 10.0, "disaster_at": 30.0, "started_at": 31.0,
        "restored_at": 36.0, "served_at": 41.0, "rto_seconds": 11.0,
        "lost": {"directory": ["b", "c"], "bus": ["b", "c"]}, "lost_total": 2, "recovered_by_retry": 1,
        "rolled_back": {"directory": 1, "bus": 0}, "digests_match": True}
    # the retry of a (which the backup holds) is deduplicated; b is admitted and delivered again
    assert summary.bus.deduped == 1
    assert (summary.bus.stats["total"], summary.bus.stats["delivered"]) == (2, 2)


def test_the_history_says_lost_in_restore_never_lost() -> None:
    world = crafted()
    history = world.run(until=60).history
    assert history is not None
    assert history.model_dump(exclude={"examples", "problems"}) == {
        "valid": True, "attempted": 4, "acknowledged": 4, "ok": 2, "lost": 0, "recovered": 0, "failed": 1,
        "dead_lettered": 0, "refused": 0, "in_flight": 0, "duplicated": 1, "duplicate_runs": 1, "unexpected": 0,
        "lost_in_restore": 1}
    [lost] = history.examples["lost_in_restore"]
    assert (lost.nonce, lost.path, lost.status, lost.runs) == ("c", "bus", "queued", 0)
    # b was done at 20.5 s; its row lost, the retry had it done again: at-least-once
    [again] = history.examples["duplicated"]
    assert (again.nonce, again.run_times) == ("b", [20.5, 40.5])


def test_the_metrics_count_backups_restores_and_losses() -> None:
    world = crafted()
    registry = world_registry(world)
    world.env.run(until=25.5)
    assert registry.get_sample_value("beamdrill_backups_total") == 1
    assert registry.get_sample_value("beamdrill_backup_age_seconds") == 15.5
    assert registry.get_sample_value("beamdrill_backup_exposure_intents", {"path": "bus"}) == 2
    assert registry.get_sample_value("beamdrill_backup_exposure_intents", {"path": "directory"}) == 2
    world.env.run(until=33)
    assert registry.get_sample_value("beamdrill_bus_up") == 0
    world.run(until=60)
    assert registry.get_sample_value("beamdrill_restores_total") == 1
    assert registry.get_sample_value("beamdrill_intents_lost_in_restore_total", {"path": "bus"}) == 2
    assert registry.get_sample_value("beamdrill_restore_recovery_seconds") == 11.0
    assert registry.get_sample_value("beamdrill_bus_up") == 1


def test_without_backups_no_recovery_series_and_no_report() -> None:
    world = make_world()
    registry = world_registry(world)
    summary = world.run(until=10)
    assert summary.recovery is None
    assert registry.get_sample_value("beamdrill_backups_total") is None


def test_a_restore_from_a_missing_backup_is_refused() -> None:
    world = make_world()
    with pytest.raises(LookupError, match="no backup 'nightly' to restore from"):
        world.restore_stores("nightly")


def test_destroyed_stores_cannot_be_backed_up() -> None:
    world = make_world()
    world.env.run(until=5)
    world.destroy_stores()
    with pytest.raises(RuntimeError, match="the stores were destroyed at t=5s: nothing to back up"):
        world.take_backup()


def test_a_disaster_fault_restores_the_newest_backup_after_its_downtime() -> None:
    world = make_world(backups={"every": "20s", "keep": 2},
                       faults=[{"kind": "disaster", "at": "50s", "downtime": "10s", "restore": "latest"}])
    at(world, 45, lambda: world.send(A, B, "agent.ping", {}, "late", "bus"))
    summary = world.run(until=90)
    report = summary.recovery
    assert report is not None
    # every 20 s: 20, 40, (60: the stores are still destroyed, no backup), 80; the newest two kept
    assert report.backups_taken == 3
    assert [(backup.id, backup.taken_at) for backup in report.backups] == [("backup-2", 40.0), ("backup-3", 80.0)]
    [restore] = report.restores
    assert (restore.backup, restore.backup_taken_at, restore.disaster_at, restore.restored_at) == (
        "backup-2", 40.0, 50.0, 60.0)
    assert restore.lost == {"directory": ["late"], "bus": ["late"]}


# -- the property --------------------------------------------------------------------------


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(every=st.integers(min_value=20, max_value=300), disaster=st.integers(min_value=1, max_value=540),
       downtime=st.integers(min_value=0, max_value=120), seed=st.integers(min_value=0, max_value=2**16))
def test_conservation_holds_with_lost_in_restore_for_any_backup_and_disaster_times(
        every: int, disaster: int, downtime: int, seed: int) -> None:
    """Ten minutes of traffic over the bus, HTTP and WebSocket; backups every ``every``
    seconds; the stores destroyed at ``disaster`` and restored from the newest backup
    after ``downtime`` (left destroyed when there is none yet). Conservation holds with
    the ledgers' lost-in-restore counted, every transition replays legally, nothing is
    lost silently in the history, and the restore's losses are exactly the intents
    admitted after its backup. (A disaster at the very instant of a scheduled backup is
    left out: which of the two comes first there is SimPy's event order, not a rule.)"""
    assume(disaster % every != 0)
    routes = [{"name": via, "from": A, "to": B, "intent": "agent.ping", "via": via, "rate": "1/s"}
              for via in ("bus", "http", "ws")]
    world = World(parse_scenario({
        "name": "property", "agents": SPECS, "acl": open_acl(SPECS), "duration": 600,
        "directory": {"public_limits": {"per_ip_per_min": 100_000, "per_sender_per_min": 100_000},
                      "rate_limit_per_min": 100_000},
        "bus": {"rate_limit_per_min": 100_000}, "backups": {"every": every, "keep": 3},
        "traffic": {"routes": routes},
        "faults": [{"kind": "disaster", "at": disaster, "downtime": downtime, "restore": "latest"}]}), seed=seed)
    world.check_history()
    world.audit_transitions()
    # past the restore, whenever it is; raises ConservationError or HistoryError if anything was lost silently
    summary = world.run(until=max(600, disaster + downtime + 1))
    assert summary.conservation == []
    assert summary.history is not None and summary.history.lost == 0
    for path in ("directory", "bus"):
        ledger = world.directory.ledger if path == "directory" else world.bus.ledger
        assert sum(ledger.counts.values()) + len(ledger.lost_in_restore) == ledger.accepted
    report = summary.recovery
    assert report is not None
    if every > disaster:  # no backup yet: nothing restored, both stay down
        assert report.restores == [] and not world.directory.up and not world.bus.up
        return
    [restore] = report.restores
    assert restore.backup_taken_at == disaster // every * every
    assert restore.digests_match
    assert summary.bus.stats["total"] == world.bus.ledger.accepted - len(world.bus.ledger.lost_in_restore)


def test_bad_backup_settings_are_one_line_each_and_exit_2(tmp_path: Any) -> None:
    from conftest import beamdrill

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nagents: [{id: a@x.beam}]\nbackups: {every: 0s, keep: 0}\n"
                   "faults: [{kind: disaster, at: 10s, restore: ''}]\n")
    done = beamdrill("run", bad, "--out", tmp_path / "out")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f"{bad}: backups.every: expected greater than 0, found '0s'",
        f"{bad}: backups.keep: expected greater than or equal to 1, found 0",
        f"{bad}: faults[0].restore: expected string should have at least 1 character, found ''"]
