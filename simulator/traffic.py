"""Traffic: Poisson arrivals per route (shaped by a daily profile and bursts) and the
scripted quote workflow of beam-model §11, with the handlers its agents run."""

from __future__ import annotations

import itertools
import math
import random
from typing import TYPE_CHECKING, Any, Callable, Generator, Literal, Sequence

import simpy

from simulator.beam.agents import Agent, AgentResult, HandlerFactory
from simulator.beam.client import ClientRetrier
from simulator.beam.directory import Directory
from simulator.beam.relay import Frame, IntentRow
from simulator.kernel.draws import expovariate
from simulator.kernel.eventloop import Scheduler, Wakeup
from simulator.kernel.rng import Streams, random_hex_id, random_uuid
from simulator.quoterun import QuoteRun
from simulator.policies import CLIENT_RETRY_STREAM, breaker_maker, budget_maker, client_policy
from simulator.scenario.tenants import TenantSpec, tenant_of
from simulator.scenario.model import InventoryHandler, QuoteDeskHandler, QuoteWorkflow, RouteSpec, TrafficSpec

if TYPE_CHECKING:
    from simulator.beam.bus import Bus
    from simulator.beam.busrows import BusResponse

DAY = 86400.0
HOUR = 3600.0
_new_frame = tuple.__new__  # skips the NamedTuple's Python-level __new__ on the hot path


class Arrivals:
    """A Poisson arrival process for one route, driven by timer callbacks.

    The rate is constant between changes (hour edges of the daily profile, burst edges);
    a gap that crosses a change is redrawn from the change, which is exact because
    exponential gaps are memoryless.
    """

    __slots__ = ("traffic", "route", "env", "scheduler", "stream", "send", "shaped", "rate", "change", "sent",
                 "pending", "limit", "_on_arrival")

    def __init__(self, traffic: "Traffic", route: RouteSpec, stream: random.Random,
                 send: Callable[[], Any], shaped: bool) -> None:
        self.traffic = traffic
        self.route = route
        self.env = traffic.env
        self.scheduler = Scheduler(self.env)
        self._on_arrival: Callable[[Wakeup], None] = self._arrive  # bound once, not per arrival
        self.stream = stream
        self.send = send
        self.shaped = shaped
        self.rate = traffic.base_rate(route)
        self.change = 0.0 if shaped else math.inf
        self.sent = 0
        #: How many the route sends in all (-1: no end).
        self.limit = -1 if route.count is None else route.count
        #: The timer whose firing is the next arrival or redraw; an older one is ignored.
        self.pending: Wakeup | None = None
        self._schedule()

    def _schedule(self) -> None:
        env = self.env
        now = env.now
        if now >= self.change:
            self.rate = self.traffic.rate_at(self.route, now)
            self.change = self.traffic.next_change(self.route, now)
        if self.rate > 0.0:
            gap = expovariate(self.stream, self.rate)
            if now + gap < self.change:
                self.pending = self.scheduler.wake_after(gap, self._on_arrival)
                return
        self.pending = self.scheduler.wake_after(self.change - now, self._redraw)

    def _arrive(self, event: Wakeup) -> None:
        if event is not self.pending:
            return  # the rate changed since this gap was drawn
        self.sent += 1
        self.send()
        if self.sent != self.limit:
            self._schedule()

    def _redraw(self, event: Wakeup) -> None:
        if event is self.pending:
            self._schedule()

    def reshape(self) -> None:
        """The route's rate changed now (a load spike started or ended): draw the next gap
        at the new rate (exact, as exponential gaps are memoryless)."""
        if self.sent == self.limit:
            return
        self.change = self.env.now
        self._schedule()


class Traffic:
    """Starts every arrival process and workflow of a scenario in a world."""

    def __init__(self, env: simpy.Environment, spec: TrafficSpec, directory: Directory,
                 bus: Bus, agents: dict[str, Agent], streams: Streams,
                 tenants: Sequence[TenantSpec] = ()) -> None:
        self.env = env
        self.agents = agents
        self.payloads: dict[str, dict[str, Any]] = {route.label: route.payload for route in spec.routes}
        self.spec = spec
        self.directory = directory
        self.bus = bus
        self.streams = streams
        self.quote_runs: dict[str, QuoteRun] = {}
        #: Load spikes in force, as a factor on each spiked route's rate (``load_spike`` faults).
        self.spikes: dict[str, float] = {}
        self._ids = streams("ids:workflows")
        #: The retrying clients of routes and agents that ask for client retries, by the
        #: route's label or the agent's id (none unless a scenario asks).
        self.clients: dict[str, ClientRetrier] = {}
        weights = {tenant.name: tenant.weight for tenant in tenants}
        #: Each weighted route's factor from its sender's tenant (:mod:`simulator.scenario.tenants`).
        self.weights = {route.label: weights[tenant_of(route.sender)] for route in spec.routes
                        if tenant_of(route.sender) in weights}
        self.routes = [self._start_route(route, streams(f"route:{route.label}")) for route in spec.routes]
        for workflow in spec.workflows:
            env.process(self._workflows(workflow))

    # -- background load ---------------------------------------------------------------

    @property
    def sent(self) -> dict[str, int]:
        """Background intents sent so far, per route label."""
        return {arrivals.route.label: arrivals.sent for arrivals in self.routes}

    def base_rate(self, route: RouteSpec) -> float:
        """The route's rate (per second) with its sender tenant's weight, before the daily
        profile and bursts."""
        weight = self.weights.get(route.label)
        return route.rate if weight is None else route.rate * weight

    def rate_at(self, route: RouteSpec, t: float) -> float:
        """Return the route's arrival rate (per second) at virtual time ``t``."""
        rate = self.base_rate(route)
        profile = self.spec.daily_profile
        if profile is not None:
            rate *= profile[int((t % DAY) // HOUR)]
        for burst in self.spec.bursts:
            if burst.route == route.label and burst.start <= t < burst.start + burst.duration:
                rate *= burst.multiplier
        if route.label in self.spikes:
            rate *= self.spikes[route.label]
        return rate

    def spike(self, label: str, multiplier: float) -> Callable[[], None]:
        """Multiply route ``label``'s rate by ``multiplier`` from now on (a load spike);
        return the function that ends the spike."""
        arrivals = next(arrivals for arrivals in self.routes if arrivals.route.label == label)
        self.spikes[label] = self.spikes.get(label, 1.0) * multiplier
        arrivals.reshape()

        def end() -> None:
            remaining = self.spikes.pop(label) / multiplier
            if remaining != 1.0:
                self.spikes[label] = remaining
            arrivals.reshape()
        return end

    def next_change(self, route: RouteSpec, t: float) -> float:
        """Return the first time after ``t`` at which the route's rate may change."""
        change = math.inf
        if self.spec.daily_profile is not None:
            change = (t // HOUR + 1) * HOUR
        for burst in self.spec.bursts:
            if burst.route == route.label:
                for edge in (burst.start, burst.start + burst.duration):
                    if edge > t:
                        change = min(change, edge)
        return change

    def _start_route(self, route: RouteSpec, stream: random.Random) -> "Arrivals":
        shaped = self.spec.daily_profile is not None or any(b.route == route.label for b in self.spec.bursts)
        return Arrivals(self, route, stream, self._sender(route, stream), shaped)

    def _sender(self, route: RouteSpec, stream: random.Random) -> Callable[[], Any]:
        sender, recipient, intent, label = route.sender, route.recipient, route.intent, route.label
        payloads = self.payloads
        if route.via == "bus":
            submit, priority = self.bus.submit, route.priority
            return lambda: submit(sender, recipient, intent, payloads[label], None, priority)
        post, origin, env = self.directory.submit, route.via, self.env
        agent = self.agents[sender]
        ip = agent.spec.ip if origin == "http" else None
        prefix = f"{random_hex_id(stream)[:12]}-"
        numbers = itertools.count(1)
        client = self.client(route)
        if client is not None:
            retrying, skew = client.send, lambda: agent.clock_skew
            return lambda: retrying(_new_frame(Frame, (sender, recipient, intent, payloads[label],
                                                       f"{prefix}{next(numbers)}", env.now + agent.clock_skew)),
                                    origin, ip, skew)
        return lambda: post(_new_frame(Frame, (sender, recipient, intent, payloads[label], f"{prefix}{next(numbers)}",
                                               env.now + agent.clock_skew)), origin, None, ip)

    def client(self, route: RouteSpec) -> ClientRetrier | None:
        """The retrying client of ``route`` (its own ``client_retry``, else its sender's),
        made on first use; None when neither asks for client retries."""
        spec, key = route.client_retry, route.label
        if spec is None:
            spec, key = self.agents[route.sender].spec.client_retry, route.sender
        if spec is None:
            return None
        client = self.clients.get(key)
        if client is None:
            chosen = client_policy(spec, self.streams(CLIENT_RETRY_STREAM + key))
            client = self.clients[key] = ClientRetrier(
                self.env, self.directory.events, self.directory.submit, chosen.policy, chosen.max_retries,
                spec.timeout, budget_maker(spec.retry_budget), breaker_maker(spec.circuit_breaker))
        return client

    def send(self, sender: str, recipient: str, intent: str, payload: dict[str, Any], nonce: str,
             via: Literal["bus", "http", "ws"], priority: int = 0) -> None:
        """Send one intent now as agent ``sender`` does: through the bus, or to the directory
        stamped with its own clock, from its address only over HTTP. Nobody waits."""
        if via == "bus":
            self.bus.submit(sender, recipient, intent, payload, nonce, priority)
            return
        agent = self.agents[sender]
        frame = Frame(sender, recipient, intent, payload, nonce, agent.clock(self.env.now))
        self.directory.submit(frame, via, None, agent.spec.ip if via == "http" else None)

    def inject(self, label: str, text: str) -> Callable[[], None]:
        """Make the route's payloads carry ``text``; return the function that restores them."""
        original = self.payloads[label]
        self.payloads[label] = {**original, "note": text}

        def restore() -> None:
            self.payloads[label] = original
        return restore

    # -- the quote workflow ------------------------------------------------------------

    def _workflows(self, spec: QuoteWorkflow) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(spec.at)
        for _ in range(spec.count):
            self.env.process(self._quote(spec))
            yield self.env.timeout(spec.every)

    def _quote(self, spec: QuoteWorkflow) -> Generator[simpy.Event, Any, None]:
        """procurement → partner-desk ``quote.request`` over HTTP, then wait for the preflight."""
        nonce = random_uuid(self._ids)
        run = self.quote_runs[nonce] = QuoteRun(quote_nonce=nonce, started_at=self.env.now)
        payload = {"project": spec.project, "sku": spec.sku, "quantity": spec.quantity,
                   "shipTo": spec.ship_to, "neededBy": spec.needed_by}
        requester = self.agents[spec.requester]
        frame = Frame(spec.requester, spec.desk, "quote.request", payload, nonce, requester.clock(self.env.now))
        outcome = yield self.directory.relay(frame, "http", requester.spec.ip)
        run.quote_http_status = outcome.http_status
        run.quote_error_code = outcome.error_code
        row = self.directory.rows.get(nonce)
        run.quote_status = row.status if row is not None else None
        if outcome.success and outcome.payload:
            run.total_price_eur = outcome.payload.get("totalPriceEur")
        # The demo runner polls up to 5 s, every 100 ms, for the preflight's bus status.
        for _ in range(50):
            if run.preflight_bus_status is not None or run.finance_received:
                break
            yield self.env.timeout(0.1)

    def quote_desk(self, handler: QuoteDeskHandler) -> HandlerFactory:
        """Return the partner desk's handler: inventory check, quote answer, then preflight."""

        def handle(agent: Agent, row: IntentRow) -> Generator[simpy.Event, Any, AgentResult]:
            run = self.quote_runs.get(row.nonce)
            quantity = _as_int(row.payload.get("quantity"))
            sku = row.payload.get("sku")
            inventory_nonce = random_uuid(self._ids)
            inventory = Frame(agent.id, handler.warehouse, "inventory.check",
                              {"sku": sku, "quantity": quantity}, inventory_nonce, agent.clock(self.env.now))
            answer = yield self.directory.relay(inventory, "ws")
            if run is not None:
                run.inventory_nonce = inventory_nonce
                inventory_row = self.directory.rows.get(inventory_nonce)
                run.inventory_status = inventory_row.status if inventory_row is not None else None
                run.available = bool(answer.payload and answer.payload.get("available"))
            if not answer.success:
                return AgentResult(False, "INVENTORY_CHECK_FAILED")
            total = quantity * handler.unit_price_eur
            total_value: int | float = int(total) if float(total).is_integer() else total  # JSON writes 44160, not 44160.0
            quote = {"sku": sku, "quantity": quantity, "quotedUnitPriceEur": handler.unit_price_eur,
                     "totalPriceEur": total_value, "supplier": agent.id,
                     "available": bool(answer.payload and answer.payload.get("available"))}
            preflight = {"requestNonce": row.nonce, "sku": sku, "quantity": quantity, "totalPriceEur": total_value}

            def send_preflight() -> None:
                sent = self.bus.send(agent.id, handler.finance, "purchase.preflight", preflight)
                sent.callbacks.append(lambda event: self._record_preflight(run, event.value))

            return AgentResult(True, None, quote, send_preflight)

        return handle

    def _record_preflight(self, run: QuoteRun | None, response: BusResponse) -> None:
        if run is None:
            return
        body = response.body
        run.preflight_http_status = response.http_status
        run.preflight_message_id = body.get("message_id")
        run.preflight_nonce = body.get("nonce")
        run.preflight_bus_status = body.get("status")
        row = self.directory.rows.get(run.preflight_nonce or "")
        if row is not None:
            run.preflight_directory_status = row.status
        if row is not None and row.result is not None:
            run.finance_received = True
            payload = row.result.payload or {}
            run.acknowledgement = payload.get("acknowledgement")
            run.terminal = payload.get("terminal")

    @staticmethod
    def inventory(handler: InventoryHandler) -> HandlerFactory:
        """Return the warehouse's handler: ``available = quantity ≤ max_quantity``."""

        def handle(agent: Agent, row: IntentRow) -> Generator[simpy.Event, Any, AgentResult]:
            quantity = _as_int(row.payload.get("quantity"))
            return AgentResult(True, None, {"sku": row.payload.get("sku"), "quantity": quantity,
                                            "available": quantity <= handler.max_quantity,
                                            "confidence": "high", "shipWindow": handler.ship_window})
            yield  # a generator, though it answers at once

        return handle


def _as_int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
