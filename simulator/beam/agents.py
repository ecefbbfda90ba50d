"""Agents: whether they are connected, how long they take, what they answer, how many
intents they work on at once, and (for the demo) handlers that send further intents."""

from __future__ import annotations

import math
import random
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Generator, NamedTuple, Protocol, cast

import simpy

from simulator.kernel.draws import expovariate, gauss
from simulator.kernel.eventloop import Scheduler, Wakeup
from simulator.scenario.model import AgentSpec
from simulator.scenario.parts import Latency

if TYPE_CHECKING:
    from simulator.beam.relay import IntentRow

#: The payload an async receiver answers with (§2.4), as the demo's finance agent does.
ASYNC_ACCEPTED: dict[str, Any] = {
    "accepted": True,
    "acknowledgement": "accepted",
    "terminal": False,
    "reviewedBy": "finance",
    "nextAction": "approval.pending",
}


class AgentResult(NamedTuple):
    """What an agent answers: a result frame's success flag, error code and payload."""

    success: bool
    code: str | None = None
    payload: dict[str, Any] | None = None
    #: Work the agent does right after its answer is on the wire (the demo's preflight).
    follow_up: Callable[[], None] | None = None

    @property
    def accepted_async(self) -> bool:
        """True for a success that only accepts the work (``terminal: false``)."""
        return bool(self.payload) and self.payload.get("terminal") is False  # type: ignore[union-attr]


_SUCCESS = AgentResult(True)
_ACCEPTED = AgentResult(True, None, ASYNC_ACCEPTED)

class ShadowAnswer(NamedTuple):
    """One intent a shadow version worked out beside the agent's own answer: the sender's
    tenant, the agent's latency and success, and the shadow's."""

    nonce: str
    tenant: str
    latency: float
    success: bool
    shadow_latency: float
    shadow_success: bool


class Variant:
    """Another version of an agent, answering the intents of a cohort of sender tenants.

    It draws nothing of its own but from ``stream`` (a latency of its own, when it has one):
    the agent's own latency and result draws are made for every intent as before, and the
    variant reuses them (common random numbers): its latency is the agent's times
    ``latency_factor`` (or a draw from its own distribution), its result the agent's
    uniform draw against its own failure rate and async acceptance. ``mode`` is ``off``,
    ``shadow`` (the variant's answer is worked out and reported to ``shadowed`` but the
    agent's own answer is sent) or ``live`` (the cohort gets the variant's answer).
    """

    def __init__(self, stream: random.Random, latency: Latency | None, latency_factor: float,
                 failure_rate: float, failure_code: str, async_accept: float) -> None:
        self._own_latency = None if latency is None else latency_sampler(latency, stream)
        self.latency_factor = latency_factor
        self.failure_rate = failure_rate
        self.async_threshold = failure_rate + async_accept * (1.0 - failure_rate)
        self.failure = AgentResult(False, failure_code)
        self.mode = "off"
        #: The sender tenants that get this version.
        self.cohort: frozenset[str] = frozenset()
        #: Told of each shadowed intent: :class:`ShadowAnswer`.
        self.shadowed: Callable[[ShadowAnswer], None] | None = None
        #: The nonces the variant answered live, in order.
        self.served: list[str] = []

    def latency(self, base: float) -> float:
        """The variant's latency for an intent the agent itself would answer in ``base`` seconds."""
        return base * self.latency_factor if self._own_latency is None else self._own_latency()

    def result(self, draw: float) -> AgentResult:
        """The variant's answer for the agent's uniform draw ``draw``."""
        if draw < self.failure_rate:
            return self.failure
        if draw < self.async_threshold:
            return _ACCEPTED
        return _SUCCESS


class WorkObserver(Protocol):
    """Told when a recipient takes an intent and when its handler has run: the delivery
    history (:mod:`simulator.history`) listens, nothing else does. Calls carry the
    virtual time, the recipient's id and the intent's nonce."""

    def received(self, time: float, agent: str, nonce: str) -> None:
        """The recipient took delivery of ``nonce`` (it may wait for a free slot)."""

    def handled(self, time: float, agent: str, nonce: str, success: bool) -> None:
        """The recipient's handler ran for ``nonce`` and answered ``success``, whether or
        not the answer reached anybody (the connection may have closed meanwhile)."""


#: Called with the caller's ticket and the agent's result once it has answered, or with
#: None if the answer was lost because the connection closed.
Reply = Callable[[Any, "AgentResult | None"], None]
#: A handler is a SimPy process body that receives the intent and returns the result.
HandlerFactory = Callable[["Agent", "IntentRow"], Generator[simpy.Event, Any, AgentResult]]


def latency_sampler(spec: Latency, stream: random.Random) -> Callable[[], float]:
    """Return a function drawing one latency in seconds from ``spec``."""
    mean = spec.mean
    if spec.dist == "fixed":
        return lambda: mean
    if spec.dist == "exponential":
        rate = 1.0 / mean if mean > 0 else math.inf
        return (lambda: expovariate(stream, rate)) if mean > 0 else (lambda: 0.0)
    if spec.dist == "uniform":
        low, high = spec.low or 0.0, spec.high or 0.0
        return lambda: stream.uniform(low, high)
    if mean <= 0:
        return lambda: 0.0
    sigma = spec.sigma
    mu = math.log(mean) - sigma * sigma / 2
    return lambda: math.exp(mu + sigma * gauss(stream))


class Agent:
    """A Beam agent as the directory sees it: a connection and a worker answering intents.

    ``connection`` counts connections; a result produced for an older connection is lost,
    as a frame on a closed socket is.
    """

    def __init__(
        self,
        env: simpy.Environment,
        spec: AgentSpec,
        stream: random.Random,
        handler: HandlerFactory | None = None,
    ) -> None:
        self.env = env
        self.scheduler = Scheduler(env)
        self._on_answer: Callable[[Wakeup], None] = self._on_timer  # bound once, not per intent
        self.spec = spec
        self.id = spec.id
        self.connected = spec.connected
        self.connection = 1 if spec.connected else 0
        self.handler = handler
        self._stream = stream
        self.clock_skew = spec.clock_skew
        self._latency = latency_sampler(spec.latency, stream)
        self._results = (spec.failure_rate, spec.failure_code, spec.async_accept)
        self._failure_rate = 0.0
        self._async_threshold = 0.0
        self._failure = AgentResult(False)
        self._use_results(*self._results)
        self._capacity = spec.concurrency
        #: The share of its capacity the agent has now (a ``capacity_drop`` lowers it): work
        #: it starts takes ``1 / capacity`` times as long.
        self.capacity = 1.0
        self._busy = 0
        self._waiting: deque[tuple[IntentRow, Reply, Any, int]] = deque()
        self.received = 0
        self.answered = 0
        #: Another version answering a cohort of tenants (canary rollouts); None: this one only.
        self.variant: Variant | None = None
        #: Told of every delivery taken and every handler run; None (the default) costs nothing.
        self.observer: WorkObserver | None = None

    def _use_results(self, failure_rate: float, failure_code: str, async_accept: float) -> None:
        self._results = (failure_rate, failure_code, async_accept)
        self._failure_rate = failure_rate
        self._async_threshold = failure_rate + async_accept * (1.0 - failure_rate)
        self._failure = AgentResult(False, failure_code)

    def set_results(self, failure_rate: float | None = None, failure_code: str | None = None,
                    async_accept: float | None = None) -> Callable[[], None]:
        """Change how the agent answers; return the function that restores the old way."""
        saved = self._results
        self._use_results(saved[0] if failure_rate is None else failure_rate,
                          saved[1] if failure_code is None else failure_code,
                          saved[2] if async_accept is None else async_accept)
        return lambda: self._use_results(*saved)

    def set_latency(self, spec: Latency) -> Callable[[], None]:
        """Answer with latencies drawn from ``spec``; return the function that restores the old one."""
        saved = self._latency
        self._latency = latency_sampler(spec, self._stream)

        def restore() -> None:
            self._latency = saved
        return restore

    def set_capacity(self, fraction: float) -> Callable[[], None]:
        """Work at ``fraction`` of the agent's capacity: every intent it starts from now on
        takes ``1 / fraction`` times its drawn latency (work already started keeps its
        own); return the function that restores the old capacity."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"a capacity fraction must be within (0, 1], not {fraction}")
        saved = self.capacity
        self.capacity = fraction

        def restore() -> None:
            self.capacity = saved
        return restore

    def _service_time(self) -> float:
        latency = self._latency()
        return latency if self.capacity == 1.0 else latency / self.capacity

    def clock(self, now: float) -> float:
        """The agent's own clock reading at virtual time ``now``."""
        return now + self.clock_skew

    def connect(self) -> None:
        """Open a new WebSocket connection (replacing any old one)."""
        self.connected = True
        self.connection += 1

    def disconnect(self) -> None:
        """Close the connection; results still being worked on are lost."""
        self.connected = False

    def accept(self, row: IntentRow, reply: Reply, ticket: Any) -> float | None:
        """Take delivery of ``row``; ``reply(ticket, result)`` is called when the agent answers
        or the answer is lost. Return in how many seconds the answer comes, if already known."""
        self.received += 1
        if self.observer is not None:
            self.observer.received(self.env.now, self.id, row.nonce)
        if self._capacity is not None and self._busy >= self._capacity:
            self._waiting.append((row, reply, ticket, self.connection))
            return None
        return self._start(row, reply, ticket, self.connection)

    def _start(self, row: IntentRow, reply: Reply, ticket: Any, connection: int) -> float | None:
        """Work on ``row``; the answer goes out on ``connection``, the one it arrived on."""
        self._busy += 1
        if self.handler is not None:
            process = self.env.process(self._run_handler(row))
            process.callbacks.append(lambda event: self._finish(row, event.value, reply, ticket, connection))
            return None
        latency = self._latency()  # _service_time and _draw_result, inlined: this is the hot path
        if self.capacity != 1.0:
            latency = latency / self.capacity
        variant = self.variant
        if variant is not None and variant.mode != "off":
            return self._start_variant(variant, row, latency, reply, ticket, connection)
        draw = self._stream.random()
        result = (self._failure if draw < self._failure_rate
                  else _ACCEPTED if draw < self._async_threshold else _SUCCESS)
        self.scheduler.wake_after(latency, self._on_answer, (row, result, reply, ticket, connection))
        return latency

    def _start_variant(self, variant: Variant, row: IntentRow, latency: float, reply: Reply, ticket: Any,
                       connection: int) -> float:
        """Answer ``row`` with the agent's own draws, through the variant when its cohort
        (the sender's tenant) gets it live; report the variant's answer when it shadows."""
        draw = self._stream.random()
        result = self._result_of(draw)
        tenant = row.sender.partition("@")[2].split(".", 1)[0]
        if tenant in variant.cohort:
            own_latency = variant.latency(latency)
            own = variant.result(draw)
            if variant.mode == "live":
                latency, result = own_latency, own
                variant.served.append(row.nonce)
            elif variant.shadowed is not None:
                variant.shadowed(ShadowAnswer(row.nonce, tenant, latency, result.success, own_latency, own.success))
        self.scheduler.wake_after(latency, self._on_answer, (row, result, reply, ticket, connection))
        return latency

    def _on_timer(self, timer: Wakeup) -> None:
        row, result, reply, ticket, connection = cast(tuple["IntentRow", AgentResult, Reply, Any, int], timer.value)
        self._finish(row, result, reply, ticket, connection)

    def _run_handler(self, row: IntentRow) -> Generator[simpy.Event, Any, AgentResult]:
        yield self.env.timeout(self._service_time())
        assert self.handler is not None
        return (yield from self.handler(self, row))

    def _result_of(self, draw: float) -> AgentResult:
        if draw < self._failure_rate:
            return self._failure
        if draw < self._async_threshold:
            return _ACCEPTED
        return _SUCCESS

    def _finish(self, row: IntentRow, result: AgentResult, reply: Reply, ticket: Any, connection: int) -> None:
        self._busy -= 1
        if self.observer is not None:
            self.observer.handled(self.env.now, self.id, row.nonce, result.success)
        if self._waiting:
            self._start(*self._waiting.popleft())
        if not self.connected or connection != self.connection:
            reply(ticket, None)
            return
        self.answered += 1
        reply(ticket, result)
        if result.follow_up is not None:
            result.follow_up()
