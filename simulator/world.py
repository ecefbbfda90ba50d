"""Building and running a world: one SimPy environment holding agents, directory, bus
and traffic, seeded from one root seed, summarised at the end."""

from __future__ import annotations

import math
from typing import Any, Callable

import simpy
from pydantic import BaseModel

from simulator import faults
from simulator.agents import Agent, HandlerFactory
from simulator.alerts import AlertEngine
from simulator.bus import Bus
from simulator.conservation import ConservationError, TransitionAudit, check_world
from simulator.directory import Directory
from simulator.links import Links
from simulator.security import Security
from simulator.events import EventStream, Sink
from simulator.exports import Exports
from simulator.partners import Partners
from simulator.prune import Pruner
from simulator.gctune import tuned_gc
from simulator.inbox import Inbox
from simulator.observations import Observations
from simulator.retry import BeamBackoff, RetryPolicy
from simulator.rng import Streams
from simulator.scenario import InventoryHandler, QuoteDeskHandler, Scenario
from simulator.traffic import QuoteRun, Traffic

RETRY_POLICIES: dict[str, Callable[[], RetryPolicy]] = {"beam": BeamBackoff}


class PathSummary(BaseModel):
    """Lifecycle totals of one path at the end of a run."""

    accepted: int
    states: dict[str, int]
    buckets: dict[str, int]


class BusSummary(BaseModel):
    """Bus activity beyond the lifecycle counts."""

    attempts: int
    retries: int
    dead_letters: int
    dead_letters_total: int
    requeues: int
    restarts: int
    deduped: int
    rejections_by_code: dict[str, int]
    stats: dict[str, Any]


class DirectorySummary(BaseModel):
    """Directory activity beyond the lifecycle counts."""

    failures_by_code: dict[str, int]
    rejections_by_code: dict[str, int]
    nonce_claims: dict[str, int]
    late_results: int
    relay_errors: int
    stops: list[tuple[float, str]]
    restarts: int
    shield_decisions: dict[str, int]
    audit_actions: dict[str, int]


class Summary(BaseModel):
    """Everything a run reports: per path, bus, directory, workflows and conservation."""

    virtual_seconds: float
    intents_accepted: int
    paths: dict[str, PathSummary]
    bus: BusSummary
    directory: DirectorySummary
    traffic_sent: dict[str, int]
    quote_runs: list[QuoteRun]
    conservation: list[str]


class World:
    """A Beam world on virtual time, built from a scenario and a root seed."""

    def __init__(self, scenario: Scenario, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.env = simpy.Environment()
        self.events = EventStream(lambda: self.env.now)
        self.rng = Streams(self.seed)
        self.audit: TransitionAudit | None = None
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
        self.bus = Bus(
            self.env, self.events, self.directory, RETRY_POLICIES[spec.retry_policy](), self.rng("ids:bus"),
            rate_limit_per_min=spec.rate_limit_per_min, max_retries=spec.max_retries,
            worker_interval=spec.worker_interval, worker_batch=spec.worker_batch,
            attempt_timeout=spec.attempt_timeout, retention=retention, ip=spec.ip, links=self.links,
        )
        self.traffic = Traffic(self.env, scenario.traffic, self.directory, self.bus, self.agents, self.rng)
        # Operator surfaces (§9.3, §9.4): the facts alerts read, fed by the directory; the
        # inbox; the alert engine, evaluating (= reading the alerts) every 15 virtual seconds.
        self.observations = Observations(self.env, self.directory.rows, self.directory.security.shield)
        self.directory.observer = self.observations
        self.inbox = Inbox(self.env, self.directory.security.audit)
        self.alerts = AlertEngine(self.env, self.events, self.observations, self.inbox,
                                  readable=lambda: self.directory.up)
        self.partners = Partners(self.env, self.directory, self.bus, self.directory.security.audit)
        self.exports = Exports(self.env, self.directory, self.bus)
        self.alerts.related = self.partners.requests_for_nonces
        self.pruner = Pruner(self.env, self.directory, on_pruned=self.partners.forget_proofs)
        for agent in self.agents.values():
            agent.handler = self._handler(agent)
        faults.schedule(self, list(scenario.faults))

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

    def subscribe(self, sink: Sink) -> None:
        """Send every later event to ``sink``; lifecycle transitions included."""
        self.events.subscribe(sink)
        self.directory.watch()
        self.bus.watch()

    def audit_transitions(self) -> TransitionAudit:
        """Replay every transition through an independent checker (costs memory per nonce)."""
        if self.audit is None:
            self.audit = TransitionAudit()
            self.subscribe(self.audit)
        return self.audit

    def run(self, until: float | None = None, progress: Callable[[float], None] | None = None,
            steps: int = 100) -> Summary:
        """Run to virtual time ``until`` (the scenario's duration by default) and summarise.

        ``progress`` is called with the virtual time after each of ``steps`` slices.
        Raises :class:`ConservationError` if the end-of-run check fails.
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
        return summary

    def summary(self) -> Summary:
        """Summarise the world as it is now."""
        paths: dict[str, PathSummary] = {}
        for ledger in (self.directory.ledger, self.bus.ledger):
            paths[ledger.path] = PathSummary(accepted=ledger.accepted, states=dict(ledger.counts),
                                             buckets=ledger.buckets())
        bus, directory = self.bus, self.directory
        problems = check_world(self)
        if self.audit is not None:
            problems += self.audit.problems(self)
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
        )

