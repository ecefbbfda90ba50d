"""The directory process (beam-model §3.10): the intent relay
(:class:`~simulator.beam.intentrelay.IntentRelay`) in a process that may stop and boot again.

A stop loses what the process held in memory: agents' connections, the result waiters
(their senders see the connection refused) and the per-sender rate map; the rows
(SQLite) survive. A boot recovers every in-flight row: failed ``DELIVERY_FAILED``, or for
a ``delivered`` row still inside its timeout, resumed until a late result or the sweep.
The process also runs Beam's timers: the sweep of resumed rows past their timeout (every
5 s by default) and the shared cleanup of the public rate-limit windows.
"""

from __future__ import annotations

from typing import Any, Final, Generator

import simpy

from simulator.beam.agents import Agent
from simulator.beam.intentrelay import CONNECTION_REFUSED, IntentRelay
from simulator.beam.links import Links
from simulator.beam.security import PUBLIC_CLEANUP_INTERVAL, Security
from simulator.kernel.events import EventStream

IN_FLIGHT: Final[frozenset[str]] = frozenset({"received", "validated", "queued", "dispatched"})


class Directory(IntentRelay):
    """Beam's directory: the relay, its rows, and the process that may stop and restart."""

    def __init__(
        self,
        env: simpy.Environment,
        events: EventStream,
        agents: dict[str, Agent],
        security: Security,
        links: Links,
        quirks: dict[str, bool],
        http_result_timeout: float = 60.0,
        ws_result_timeout: float = 30.0,
        retention: float | None = None,
        sweep_interval: float = 5.0,
    ) -> None:
        super().__init__(env, events, agents, security, links, quirks, http_result_timeout, ws_result_timeout,
                         retention)
        self.stops: list[tuple[float, str]] = []
        self.restarts = 0
        self._reconnect: list[Agent] = []
        env.process(self._sweep(sweep_interval))
        env.process(self._public_cleanup())

    def stop(self, reason: str) -> None:
        """The process exits: connections, waiters and the in-memory rate map are lost;
        callers still waiting see their connection reset. Rows (SQLite) survive."""
        if not self.up:
            return
        self.up = False
        self.epoch += 1
        self.stops.append((self.env.now, reason))
        self.security.relay_windows.clear()
        self._reconnect = [agent for agent in self.agents.values() if agent.connected]
        for agent in self._reconnect:
            agent.disconnect()
        for row in self.rows.values():
            if row.waiting:
                row.waiting = False
                answer, row.answer = row.answer, None
                if answer is not None:
                    answer(CONNECTION_REFUSED)
        self.events.emit("directory_down", None, reason=reason)

    def start(self) -> None:
        """Boot the directory: recover in-flight rows (§3.10), let agents reconnect."""
        if self.up:
            return
        self.up = True
        self.restarts += 1
        now = self.env.now
        failed = resumed = timed_out = 0
        for row in list(self.rows.values()):
            if row.status in IN_FLIGHT:
                row.generation += 1
                self._fail(row, "DELIVERY_FAILED", None)  # recoveryAction: fail_interrupted_intent
                failed += 1
            elif row.status == "delivered":
                if now - (row.delivered_at or row.requested_at) < self.timeouts[row.origin]:
                    self.resumed.add(row)  # resumedAwaitingResult; only the sweep ends it
                    resumed += 1
                else:
                    self._fail(row, "TIMEOUT", None)  # timeout_after_restart
                    timed_out += 1
        for agent in self._reconnect:
            agent.connect()
        self._reconnect = []
        self.events.emit("restart", None, component="directory", failed=failed, resumed=resumed, timed_out=timed_out)

    def restart(self, downtime: float = 0.0) -> None:
        """Stop now and boot again after ``downtime`` seconds."""
        self.stop("restart")
        if downtime <= 0:
            self.start()
        else:
            self.env.timeout(downtime).callbacks.append(lambda _event: self.start())

    def _sweep(self, interval: float) -> Generator[simpy.Event, Any, None]:
        """Every few seconds, fail resumed `delivered` rows past their timeout (§3.10)."""
        while True:
            yield self.env.timeout(interval)
            if not self.up or not self.resumed:
                continue
            now = self.env.now
            for row in sorted(self.resumed, key=lambda r: (r.requested_at, r.nonce)):
                if row.status != "delivered":
                    self.resumed.discard(row)
                elif now - (row.delivered_at or row.requested_at) >= self.timeouts[row.origin]:
                    self.resumed.discard(row)
                    self._fail(row, "TIMEOUT", None)  # timeout_without_waiter

    def _public_cleanup(self) -> Generator[simpy.Event, Any, None]:
        """Beam's shared cleanup of the rate-limit rows (§5), while the process is up."""
        while True:
            yield self.env.timeout(PUBLIC_CLEANUP_INTERVAL)
            if self.up:
                self.security.cleanup(self.env.now)
