"""Building and running a world: one SimPy environment holding agents, directory, bus,
traffic and Beam's operator surfaces, seeded from one root seed, summarised at the end.

:class:`World` is also the public API :mod:`drills` drives a world through: send as an
agent, start or end a fault, read an intent's state, the dead letters, the retry
schedule, counts of failures, Shield decisions and audit rows, and the conservation
check. Beam's operator surfaces (``inbox``, ``alerts``, ``partners``, ``exports``,
``pruner``) are public attributes: they are the API Beam gives its own operators.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Literal, NamedTuple

import simpy

from simulator import faults, golive
from simulator.beam.agents import Agent, AgentResult, HandlerFactory
from simulator.beam.audit import AuditRow
from simulator.beam.bus import Bus
from simulator.beam.busrows import BusMessage
from simulator.beam.directory import Directory
from simulator.beam.links import Links
from simulator.beam.relay import Frame
from simulator.beam.retry import follows_schedule
from simulator.beam.security import Security
from simulator.beam.limitseam import RateLimitListener
from simulator.changes import (
    Change, RateLimitChange, RetryPolicyChange, ShieldChange, StagedAgentVersion, StagedChange, StagedRetryPolicy,
)
from simulator.gatestaging import StagedRateLimit, StagedShield
from simulator.conservation import ConservationError, HistoryError, TransitionAudit, check_stores
from simulator.history import DeliveryHistory
from simulator.kernel.environment import WorldEnvironment
from simulator.kernel.events import EventStream, EventWriter, Sink, clock
from simulator.kernel.gctune import tuned_gc
from simulator.kernel.lifecycle import Ledger
from simulator.kernel.rng import Streams
from simulator.loading import policy_problems
from simulator.policies import BUS_RETRY_STREAM, breaker_maker, budget_maker, bus_retry
from simulator.operator.alerts import AlertEngine
from simulator.operator.exports import Exports
from simulator.operator.inbox import Inbox
from simulator.operator.observations import Observations
from simulator.operator.partners import PartnerRequest, Partners
from simulator.operator.prune import Pruner
from simulator.recovery import Recovery
from simulator.scenario.loader import ScenarioError
from simulator.scenario.model import InventoryHandler, QuoteDeskHandler, Scenario, ShieldSpec
from simulator.scenario.parts import AclEntry
from simulator.scenario.readiness import PartnerRequestSpec
from simulator.slo import BurnRateMonitor
from simulator.summary import (
    BackupReport, BusSummary, DirectorySummary, HistoryReport, PathSummary, RecoveryReport, Summary,
)
from simulator.quoterun import QuoteRun
from simulator.traffic import Traffic

#: Which store an intent is read from: the directory's ``intent_log`` or the bus's messages.
IntentPath = Literal["directory", "bus"]
#: How an agent sends: through the bus, or to the directory over HTTP or WebSocket.
Via = Literal["bus", "http", "ws"]


class IntentState(NamedTuple):
    """One intent as a store holds it now: status, the stored error (the bus's message
    text, the directory's error code) and the bus's retry count (0 in the directory)."""

    status: str
    error: str | None
    retry_count: int


class SettledIntent(NamedTuple):
    """One intent that reached a final state: where it was held, who sent it to whom, how
    it ended, when it was accepted and when it settled (virtual seconds)."""

    nonce: str
    path: IntentPath
    sender: str
    recipient: str
    status: str
    error: str | None
    accepted_at: float
    settled_at: float


class World:
    """A Beam world on virtual time, built from a scenario and a root seed."""

    # A large world allocates many objects and frees none of them while it is built:
    # collecting as a run does (not every 700 allocations) builds it in half the time.
    @tuned_gc()
    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        problems = policy_problems(scenario)
        if problems:
            raise ScenarioError(problems)
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.env = WorldEnvironment(initial_time=0.0)  # a float clock: whole seconds print as 60.0, as compiled code keeps them
        self.events = EventStream(clock(self.env))
        self.rng = Streams(self.seed)
        self.audit: TransitionAudit | None = None
        self.history: DeliveryHistory | None = None
        retention = scenario.retention.finished_rows
        self.quirks = scenario.resolved_quirks()
        self.links = Links(self.rng("links"))
        self.active_faults: dict[int, Any] = {}
        self.fault_reverts: dict[int, faults.Revert] = {}
        self.agents: dict[str, Agent] = {
            spec.id: Agent(self.env, spec, self.rng(f"agent:{spec.id}")) for spec in scenario.agents
        }
        directory = scenario.directory
        self.directory = Directory(
            self.env, self.events, self.agents, Security(scenario, self.quirks, retention), self.links, self.quirks,
            http_result_timeout=directory.http_result_timeout, ws_result_timeout=directory.ws_result_timeout,
            retention=retention, sweep_interval=directory.recovery_sweep_interval,
        )
        spec = scenario.bus
        # Beam's schedule draws nothing: its stream is made only for a preset that may draw.
        chosen = bus_retry(spec, None if spec.retry_policy.preset == "beam" else self.rng(BUS_RETRY_STREAM))
        self.bus = Bus(
            self.env, self.events, self.directory, chosen.policy, self.rng("ids:bus"),
            rate_limit_per_min=spec.rate_limit_per_min, max_retries=chosen.max_retries,
            worker_interval=spec.worker_interval, worker_batch=spec.worker_batch,
            attempt_timeout=spec.attempt_timeout, retention=retention, ip=spec.ip, links=self.links,
            budget=budget_maker(spec.retry_budget), breaker=breaker_maker(spec.circuit_breaker),
        )
        self.traffic = Traffic(self.env, scenario.traffic, self.directory, self.bus, self.agents, self.rng,
                               scenario.tenants)
        # Operator surfaces (§9.3, §9.4): the facts alerts read, fed by the directory; the
        # inbox; the alert engine, evaluating (= reading the alerts) every 15 virtual seconds.
        self.observations = Observations(self.env, self.directory.rows, self.directory.security.shield)
        self.directory.observer = self.observations
        self.inbox = Inbox(self.env, self.directory.security.audit, self.events)
        self.alerts = AlertEngine(self.env, self.events, self.observations, self.inbox,
                                  readable=lambda: self.directory.up)
        self.partners = Partners(self.env, self.directory, self.bus, self.directory.security.audit, self.inbox)
        self.exports = Exports(self.env, self.directory, self.bus)
        self.alerts.related = self.partners.requests_for_nonces
        self.pruner = Pruner(self.env, self.directory, on_pruned=self.partners.forget_proofs)
        self.recovery = Recovery(self, scenario.backups)
        for agent in self.agents.values():
            agent.handler = self._handler(agent)
        faults.schedule(self, list(scenario.faults))
        if scenario.partner_requests:
            golive.take_in(self.env, self.partners, scenario.partner_requests)
        #: The SLO burn-rate alerts' watcher when the scenario declares objectives.
        self.slo_monitor: BurnRateMonitor | None = None
        if scenario.slos:
            self.slo_monitor = BurnRateMonitor(scenario.slos)
            self.subscribe(self.slo_monitor)
            self.alerts.more_alerts = self.slo_monitor.alerts

    def _handler(self, agent: Agent) -> HandlerFactory | None:
        handler = agent.spec.handler
        if isinstance(handler, QuoteDeskHandler):
            return self.traffic.quote_desk(handler)
        if isinstance(handler, InventoryHandler):
            return self.traffic.inventory(handler)
        return None

    @property
    def now(self) -> float:
        """The current virtual time in seconds."""
        return self.env.now

    def subscribe(self, sink: Sink | EventWriter) -> None:
        """Send every later event to ``sink`` (a callable taking an event, or a writer given
        each event's fields); lifecycle transitions included."""
        self.events.subscribe(sink)
        self.directory.watch()
        self.bus.watch()

    def audit_transitions(self) -> TransitionAudit:
        """Replay every transition through an independent checker (costs memory per nonce)."""
        if self.audit is None:
            self.audit = TransitionAudit()
            self.subscribe(self.audit)
        return self.audit

    def check_history(self) -> DeliveryHistory:
        """Keep the delivery history (:mod:`simulator.history`) from now on, and judge the
        run by it: a run that loses an intent or processes one never sent fails. It turns
        the event stream on, which costs as any sink does."""
        if self.history is None:
            self.history = DeliveryHistory()
            self.subscribe(self.history)
            for agent in self.agents.values():
                agent.observer = self.history
            self.directory.echo_observer = self.history
        return self.history

    def run(self, until: float | None = None, progress: Callable[[float], None] | None = None,
            steps: int = 100) -> Summary:
        """Run to virtual time ``until`` (the scenario's duration by default) and summarise.

        ``progress`` is called with the virtual time after each of ``steps`` slices.
        Raises :class:`ConservationError` if the end-of-run check fails, and its
        :class:`HistoryError` when the delivery history (if kept) lost an intent or
        processed one never sent.
        """
        end = self.scenario.duration if until is None else until
        if not math.isfinite(end) or end < 0:
            raise ValueError(f"until must be a finite, non-negative number of seconds, not {end}")
        start = self.env.now
        with tuned_gc():
            for step in range(1, steps + 1):
                target = start + (end - start) * step / steps
                if target > self.env.now:
                    self.env.run(until=target)
                if progress is not None:
                    progress(self.env.now)
        summary = self.summary()
        if summary.conservation:
            raise ConservationError("; ".join(summary.conservation))
        if summary.history is not None and not summary.history.valid:
            raise HistoryError("; ".join(summary.history.problems))
        return summary

    # -- the public API drills use -------------------------------------------------------

    def send(self, sender: str, recipient: str, intent: str, payload: dict[str, Any], nonce: str,
             via: Via) -> None:
        """Send one intent now as agent ``sender`` would (nobody waits for the answer)."""
        self.traffic.send(sender, recipient, intent, payload, nonce, via)

    def stage_change(self, change: Change) -> StagedChange:
        """Install ``change`` (:mod:`simulator.changes`), exposed to no tenant until its
        handle says so. Raises ValueError for an agent the world does not have, or (for an
        agent version) one running a scripted handler (the demo's desk and warehouse)."""
        agent = self.agents.get(change.agent)
        if agent is None:
            raise ValueError(f"no agent {change.agent!r} in this world")
        if isinstance(change, RetryPolicyChange):
            return StagedRetryPolicy(change, self.bus, self.rng)
        if isinstance(change, ShieldChange):
            return StagedShield(change, self.directory.security, self.env)
        if isinstance(change, RateLimitChange):
            return StagedRateLimit(change, self.bus)
        if agent.handler is not None:
            raise ValueError(f"agent {change.agent!r} runs a scripted handler; a version change needs a plain agent")
        return StagedAgentVersion(change, agent, self.rng)

    def watch_rate_limits(self, listener: RateLimitListener | None) -> None:
        """Tell ``listener`` ``(time, sender, recipient, limiter)`` of every send a rate
        limiter refuses from now on: the bus's per-sender window (``bus_sender``), the
        directory's public limiter (``public_ip``, ``public_sender``), its relay limit
        (``relay_sender``) and the trust gate's pair limit (``shield_pair``). A bus
        attempt the directory refuses counts as well. None stops telling."""
        self.bus.on_rate_limited = listener
        self.directory.security.on_rate_limited = listener

    def accepted_sends(self, since: float, until: float, recipient: str,
                       path: IntentPath = "directory") -> list[tuple[float, str]]:
        """``(time, sender)`` of each intent to ``recipient`` that ``path`` accepted in
        ``[since, until)`` (the directory's request time, the bus's creation time), in the
        store's order; rows retention already compacted are not among them."""
        if path == "directory":
            return [(row.requested_at, row.sender) for row in self.directory.rows.values()
                    if row.recipient == recipient and since <= row.requested_at < until]
        return [(message.created_at, message.sender) for message in self.bus.by_nonce.values()
                if message.recipient == recipient and since <= message.created_at < until]

    def settled_intents(self, since: float, until: float, recipient: str | None = None,
                        path: IntentPath = "directory") -> list[SettledIntent]:
        """The intents ``path`` holds that settled in ``[since, until)``, optionally only
        those sent to ``recipient``, in the store's order. Half-open as :meth:`run` is: a
        run to ``t`` leaves what happens at ``t`` for the next run, so back-to-back
        windows count every intent once. Rows retention already compacted are not among them."""
        rows: list[SettledIntent] = []
        if path == "directory":
            for row in self.directory.rows.values():
                finished = row.finished_at
                if (finished is not None and since <= finished < until
                        and (recipient is None or row.recipient == recipient)):
                    rows.append(SettledIntent(row.nonce, "directory", row.sender, row.recipient, row.status,
                                              row.error_code, row.requested_at, finished))
            return rows
        for message in self.bus.by_nonce.values():
            finished = message.finished_at
            if (finished is not None and since <= finished < until
                    and (recipient is None or message.recipient == recipient)):
                rows.append(SettledIntent(message.nonce, "bus", message.sender, message.recipient, message.status,
                                          message.error_code, message.created_at, finished))
        return rows

    def bus_attempts(self, since: float, until: float, recipient: str) -> list[tuple[str, str, int]]:
        """``(nonce, sender, attempts so far)`` of each intent the bus accepted for
        ``recipient`` in ``[since, until)``, in the store's order: retry amplification."""
        return [(message.nonce, message.sender, message.attempts) for message in self.bus.by_nonce.values()
                if message.recipient == recipient and since <= message.created_at < until]

    def end_fault(self, index: int) -> bool:
        """Revert the active fault ``index`` of ``scenario.faults`` now (the root cause is
        fixed); False if it is not active or cannot be reverted."""
        return faults.end(self, index)

    def revertible_faults(self) -> list[Any]:
        """The faults active now that an operator could still revert, in scenario order."""
        return [fault for index, fault in sorted(self.active_faults.items()) if index in self.fault_reverts]

    def acl_allows(self, target: str, intent: str, sender: str) -> bool:
        """Whether the directory's ACL admits ``intent`` from ``sender`` to ``target`` now."""
        return self.directory.security.acl.allows(target, intent, sender)

    def add_acl_entry(self, entry: AclEntry) -> None:
        """``POST /acl``: add the row and audit ``acl.created``."""
        faults.add_acl_row(self, entry)

    def remove_acl_entry(self, entry: AclEntry) -> bool:
        """``DELETE /acl/:id``: delete the exact row and audit ``acl.deleted``; False when
        no such row exists."""
        if entry not in self.directory.security.acl.entries:
            return False
        faults.remove_acl_row(self, entry)
        return True

    def acl_entries(self, target: str | None = None) -> list[AclEntry]:
        """``GET /acl/:beamId``: the ACL rows now (of ``target`` only, when given)."""
        return [entry for entry in self.directory.security.acl.entries if target is None or entry.target == target]

    def shield_config(self, agent: str) -> ShieldSpec | None:
        """``GET /shield/config/:beamId``: the agent's Shield configuration now; None for
        an agent the directory does not know."""
        config = self.directory.security.configs.get(agent)
        if config is None:
            return None
        return ShieldSpec(mode=config.mode, allowlist=list(config.allowlist), blocklist=list(config.blocklist),  # type: ignore[arg-type]
                          min_trust=config.min_trust, rate_limit=config.rate_limit)

    def set_shield_config(self, agent: str, spec: ShieldSpec) -> None:
        """``PATCH /shield/config/:beamId``: replace the agent's Shield configuration now
        and audit ``shield.config.updated``."""
        config = self.directory.security.configs[agent]
        config.mode, config.allowlist, config.blocklist = spec.mode, list(spec.allowlist), list(spec.blocklist)
        config.min_trust, config.rate_limit = spec.min_trust, spec.rate_limit
        self.directory.security.audit.write(self.now, "shield.config.updated", agent)

    def inject_fault(self, fault: Any) -> int:
        """Start ``fault`` (a scenario fault spec) now, as if the scenario had held it: it is
        appended to ``scenario.faults`` (so results name it) and its index is returned."""
        index = len(self.scenario.faults)
        started = fault.model_copy(update={"at": self.now})
        self.scenario.faults.append(started)
        faults.schedule_one(self, index, started)
        return index

    def intent(self, nonce: str, path: IntentPath) -> IntentState | None:
        """The intent ``nonce`` as the bus or the directory holds it now; None if unknown
        (never seen, or forgotten by retention)."""
        if path == "bus":
            message = self.bus.by_nonce.get(nonce)
            return None if message is None else IntentState(message.status, message.error, message.retry_count)
        row = self.directory.rows.get(nonce)
        return None if row is None else IntentState(row.status, row.error_code, 0)

    def state_counts(self, path: IntentPath) -> dict[str, int]:
        """How many intents ``path`` holds in each lifecycle state now."""
        return dict(self._ledger(path).counts)

    def accepted(self, path: IntentPath) -> int:
        """How many intents ``path`` has admitted into its lifecycle so far."""
        return self._ledger(path).accepted

    def _ledger(self, path: IntentPath) -> Ledger:
        return self.bus.ledger if path == "bus" else self.directory.ledger

    def rows_held(self) -> int:
        """Rows both stores hold now, retained and awaiting retention (memory checkpoints)."""
        directory, bus = self.directory, self.bus
        return len(directory.rows) + len(bus.by_nonce) + directory.retention.held() + bus.retention.held()

    def troubled_bus_nonces(self) -> list[str]:
        """Nonces of bus messages that failed, were dead-lettered or were retried, in order."""
        return [message.nonce for message in self.bus.by_nonce.values()
                if message.status in ("dead_letter", "failed") or message.retry_count]

    def quote_runs(self) -> list[QuoteRun]:
        """Every quote workflow run so far, in start order."""
        return list(self.traffic.quote_runs.values())

    def dead_letters(self, recipient: str | None = None, limit: int = 500) -> list[BusMessage]:
        """The bus's dead letters, oldest first (``GET /v1/beam/dead-letter``)."""
        return self.bus.dead_letters(recipient=recipient, limit=limit)

    def dead_letter_count(self, recipient: str | None = None) -> int:
        """How many bus messages are in ``dead_letter`` now, optionally for one recipient."""
        if recipient is None:
            return self.bus.ledger.counts["dead_letter"]
        return sum(1 for message in self.bus.by_nonce.values()
                   if message.status == "dead_letter" and message.recipient == recipient)

    def requeue(self, message_id: str) -> simpy.Event:
        """``POST /v1/beam/dead-letter/:id/requeue``: requeue a dead-lettered message."""
        return self.bus.requeue(message_id)

    def seed_bus_message(self, sender: str, recipient: str, intent: str, payload: dict[str, Any] | None = None,
                         nonce: str | None = None, status: str = "received", error: str = "",
                         next_retry_at: float | None = None, max_retries: int | None = None) -> str:
        """Store a bus row in ``status`` now, without any delivery, and return its message id.

        The row is made as Beam's own tests make one (``bus.test.ts``): ``insertMessage``,
        then the updates that lead to ``status`` (``dispatched``: markDispatched;
        ``delivered``: markDispatched, markDelivered; ``acked``: ... markAcked; ``failed``:
        markDispatched, markFailed(``error``); ``dead_letter``: markDeadLetter(``error``);
        ``queued``: scheduleRetry(1, ``next_retry_at``, ``error``)). Use it for rows a run
        cannot otherwise hold at a chosen time, such as one ``received`` or ``dispatched``
        when the bus restarts.
        """
        steps = {"received": (), "dispatched": ("dispatched",), "delivered": ("dispatched", "delivered"),
                 "acked": ("dispatched", "delivered", "acked"), "failed": ("dispatched", "failed"),
                 "dead_letter": ("dead_letter",), "queued": ("queued",)}
        if status not in steps:
            raise ValueError(f"a bus row cannot be seeded in {status!r}; one of {', '.join(steps)}")
        bus = self.bus
        message_id = bus.insert_message(sender, recipient, intent, payload, nonce, max_retries=max_retries)
        for step in steps[status]:
            bus.mark(message_id, step, error=error, next_retry_at=next_retry_at)
        return message_id

    def seed_directory_row(self, sender: str, recipient: str, intent: str, nonce: str,
                           payload: dict[str, Any] | None = None, status: str = "received",
                           error_code: str | None = None, via: Literal["http", "ws"] = "ws") -> None:
        """Store a directory ``intent_log`` row in ``status`` now, without routing it.

        The row takes the lifecycle's path to ``status`` (``received``, ``validated``,
        ``queued``, ``dispatched``, ``delivered`` with nobody waiting, ``acked``, or
        ``failed`` with ``error_code``), as Beam's directory tests write rows. Use it for
        rows a run cannot otherwise hold at a chosen time, such as one ``dispatched`` or
        ``delivered`` when the directory restarts, or a finished one a resend meets.
        Raises ValueError for another status, a known nonce, or an error code on a row that
        is not failed (or none on one that is).
        """
        frame = Frame(sender, recipient, intent, {} if payload is None else payload, nonce, self.env.now)
        self.directory.seed_row(frame, via, status, error_code)

    def fixture_row(self, nonce: str) -> None:
        """The rows of ``nonce`` were seeded as a drill's fixture (as Beam's drill scripts
        seed their databases): nobody sent it, so the delivery history leaves it out
        (a row seeded otherwise counts as an intent nobody sent)."""
        if self.history is not None:
            self.history.seed(nonce)

    def agent_result(self, nonce: str, success: bool = True, payload: dict[str, Any] | None = None,
                     code: str | None = None) -> None:
        """An agent's ``result`` frame for ``nonce`` arrives at the directory now, as when an
        agent answers on its new connection after a directory restart (Beam's
        ``handleResult``): it settles a waiting sender, or finalises a ``delivered`` row no
        sender waits for; ``code`` is the frame's ``errorCode`` when ``success`` is False."""
        self.directory.result_frame(nonce, AgentResult(success, code, payload))

    def restart_directory(self, downtime: float = 0.0) -> None:
        """Restart the directory now, back after ``downtime`` seconds: connections and waiters
        are lost, and the boot recovers every in-flight row (§3.10)."""
        self.directory.restart(downtime)

    def restart_bus(self) -> None:
        """Restart the message bus now: attempts in flight die, ``received`` and
        ``dispatched`` rows are queued again, due now (§4.7)."""
        self.bus.restart()

    def take_backup(self, label: str | None = None) -> BackupReport:
        """Back up both stores now (a consistent snapshot, as Beam's drill copies each
        database with its write-ahead log) and return what the backup holds. Raises
        RuntimeError while the stores are destroyed."""
        return self.recovery.take(label).report()

    def backups(self) -> list[BackupReport]:
        """The backups kept, oldest first."""
        return [backup.report() for backup in self.recovery.backups]

    def destroy_stores(self) -> None:
        """A disaster: both stores are destroyed while the processes run, which fail and
        stay down until :meth:`restore_stores`."""
        self.recovery.disaster()

    def restore_stores(self, backup: str = "latest", downtime: float = 0.0) -> BackupReport:
        """Stop both processes, and after ``downtime`` restore both stores from ``backup``
        (``latest``, or a backup's id or label) and boot both with their restart recovery;
        intents admitted after the backup are lost in restore, by name. Raises LookupError
        when there is no such backup."""
        return self.recovery.restore(backup, downtime).report()

    def recovery_report(self) -> RecoveryReport | None:
        """Backups, disasters and restores so far, each restore with its RTO and RPO; None
        when the world took no backup and had no disaster."""
        return self.recovery.report()

    def store_digests(self) -> dict[str, str]:
        """The live stores' checksums, comparable with a backup's digests."""
        return self.recovery.live_digests()

    def retry_delay_bounds(self, retry_count: int, nonce: str, previous: float = 0.0) -> tuple[float, float]:
        """The least and the most the selected retry policy may wait before retry
        ``retry_count`` of ``nonce`` (``previous``: the wait before the retry before it).
        Equal for Beam's schedule and other policies without jitter; draws nothing."""
        return self.bus.policy.delay_bounds(retry_count, nonce, previous)

    def follows_retry_policy(self, nonce: str, scheduled: list[tuple[int, float]]) -> bool:
        """Whether every ``(retry_count, delay)`` the bus scheduled for ``nonce``, in order,
        is one the selected retry policy could have chosen."""
        return follows_schedule(self.bus.policy, nonce, scheduled)

    def bus_stats(self) -> dict[str, Any]:
        """``GET /v1/beam/stats``: the bus's counts by status and its queue."""
        return self.bus.stats()

    def shield_decisions(self) -> dict[str, int]:
        """Shield decisions recorded so far, by decision."""
        return dict(self.directory.security.shield.recorded)

    def error_count(self, code: str, path: IntentPath) -> int:
        """Failures and refusals carrying error ``code`` on ``path`` so far (on the bus: rows
        failed or dead-lettered by an attempt that failed with that code, plus refused
        sends; the bus stores Beam's error text, not the code)."""
        if path == "bus":
            failed = sum(1 for message in self.bus.by_nonce.values()
                         if message.status in ("failed", "dead_letter") and message.error_code == code)
            return failed + self.bus.rejections_by_code.get(code, 0)
        directory = self.directory
        return directory.failures_by_code.get(code, 0) + directory.rejections_by_code.get(code, 0)

    def directory_errors(self) -> dict[str, int]:
        """The directory's failures and refusals so far, by error code in code order: what
        :meth:`error_count` gives for one code on the directory path, for every code seen."""
        directory = self.directory
        counts = dict(directory.failures_by_code)
        for code, count in directory.rejections_by_code.items():
            counts[code] = counts.get(code, 0) + count
        return dict(sorted(counts.items()))

    def audit_rows(self) -> list[AuditRow]:
        """The directory's audit log, oldest first."""
        return list(self.directory.security.audit.rows)

    def delivery_history(self) -> HistoryReport | None:
        """The delivery history as it stands now; None unless :meth:`check_history` keeps it."""
        return None if self.history is None else self.history.report()

    def partner_request_plans(self) -> list[tuple[PartnerRequest, PartnerRequestSpec]]:
        """The partner requests the scenario declares, as taken in so far, each with its
        declaration (go-live plan); the readiness gate reads them."""
        return golive.declared_requests(self.partners, self.scenario.partner_requests)

    def conservation_problems(self) -> list[str]:
        """Every conservation problem now (an empty list when nothing was lost)."""
        return check_stores(self.directory, self.bus)

    # -- the summary ---------------------------------------------------------------------

    def summary(self) -> Summary:
        """Summarise the world as it is now."""
        paths: dict[str, PathSummary] = {}
        for ledger in (self.directory.ledger, self.bus.ledger):
            paths[ledger.path] = PathSummary(accepted=ledger.accepted, states=dict(ledger.counts),
                                             buckets=ledger.buckets())
        bus, directory = self.bus, self.directory
        problems = self.conservation_problems()
        if self.audit is not None:
            problems += self.audit.problems(directory.ledger, bus.ledger)
        return Summary(
            virtual_seconds=self.env.now,
            intents_accepted=directory.ledger.accepted + bus.ledger.accepted,
            paths=paths,
            bus=BusSummary(attempts=bus.attempts, retries=bus.retries,
                           dead_letters=bus.ledger.counts["dead_letter"],
                           dead_letters_total=bus.dead_letters_total, requeues=bus.requeues,
                           restarts=bus.restarts, deduped=bus.deduped,
                           rejections_by_code=dict(sorted(bus.rejections_by_code.items())),
                           stats=bus.stats()),
            directory=DirectorySummary(failures_by_code=dict(sorted(directory.failures_by_code.items())),
                                       rejections_by_code=dict(sorted(directory.rejections_by_code.items())),
                                       nonce_claims=dict(directory.claims), late_results=directory.late_results,
                                       relay_errors=directory.thrown, stops=list(directory.stops),
                                       restarts=directory.restarts,
                                       shield_decisions=dict(directory.security.shield.recorded),
                                       audit_actions=dict(sorted(directory.security.audit.counts.items()))),
            traffic_sent=dict(sorted(self.traffic.sent.items())),
            quote_runs=list(self.traffic.quote_runs.values()),
            conservation=problems,
            history=None if self.history is None else self.history.report(),
            recovery=self.recovery.report(),
        )
