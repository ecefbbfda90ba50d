"""The bus's per-intent retry seam: which retry policy, retry budget and circuit breaker
each new intent is sent under.

The bus sends every intent under its own retry policy and guards unless a seam is
installed (:attr:`Bus.seam`) and its ``choose`` names others for the intent when the bus
accepts it. The choice is pinned for the intent's life (its retries, a requeue), as its
``max_retries`` is: rolling a change back decides for new intents only.

A choice's guards (:class:`PairGuards`) are a retry budget and a circuit breaker per
sender→recipient pair of their own: intents pinned to them deposit, withdraw and record
there, never in the bus's own budgets and breakers, so a cohort shares no guard state
with the baseline. What a choice leaves out (a policy, a budget, a breaker) stays the bus's.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from simulator.beam.breaker import CircuitBreaker, TransitionListener
from simulator.beam.budget import RetryBudget
from simulator.beam.busrows import BusMessage
from simulator.beam.retry import RetryPolicy

#: Makes one sender→recipient pair's retry budget, starting at a virtual time.
BudgetMaker = Callable[[float], RetryBudget]
#: Makes one pair's circuit breaker, telling a listener of its transitions.
BreakerMaker = Callable[[TransitionListener], CircuitBreaker]
#: A sender→recipient pair of the bus.
Pair = tuple[str, str]


class PairGuards:
    """Retry budgets and circuit breakers of their own, one per pair, made on first use;
    a maker left None leaves that guard to the bus."""

    def __init__(self, budget: BudgetMaker | None, breaker: BreakerMaker | None) -> None:
        self.make_budget = budget
        self.make_breaker = breaker
        self.budgets: dict[Pair, RetryBudget] = {}
        self.breakers: dict[Pair, CircuitBreaker] = {}

    def budget(self, pair: Pair, now: float) -> RetryBudget | None:
        """The pair's own budget (made at ``now`` on first use), or None without a maker."""
        if self.make_budget is None:
            return None
        budget = self.budgets.get(pair)
        if budget is None:
            budget = self.budgets[pair] = self.make_budget(now)
        return budget

    def breaker(self, pair: Pair, listener: TransitionListener) -> CircuitBreaker | None:
        """The pair's own breaker (telling ``listener`` of its transitions), or None without a maker."""
        if self.make_breaker is None:
            return None
        breaker = self.breakers.get(pair)
        if breaker is None:
            breaker = self.breakers[pair] = self.make_breaker(listener)
        return breaker

    def clear(self) -> None:
        """Forget every pair's state (the bus restarted: it lived in the process's memory)."""
        self.budgets.clear()
        self.breakers.clear()


class Pin(NamedTuple):
    """What a new intent is sent under: a retry ``policy`` with its ``max_retries`` (None:
    the bus's own) and ``guards`` (None: the bus's own)."""

    policy: RetryPolicy | None
    max_retries: int
    guards: PairGuards | None


#: Picks a new row's :class:`Pin`, or None for the bus's own policy and guards.
PolicyChooser = Callable[[BusMessage], "Pin | None"]


class RetrySeam:
    """Per-intent retry policies and guards, pinned when the bus accepts an intent."""

    def __init__(self, choose: PolicyChooser) -> None:
        self.choose = choose
        #: The policies ``choose`` picked, by message id.
        self.pinned: dict[str, RetryPolicy] = {}
        #: The guards ``choose`` picked, by message id.
        self.guarded: dict[str, PairGuards] = {}

    def pin(self, msg: BusMessage) -> None:
        """Ask ``choose`` for a new row's policy and guards; pin what it gives."""
        chosen = self.choose(msg)
        if chosen is None:
            return
        if chosen.policy is not None:
            self.pinned[msg.id] = chosen.policy
            msg.max_retries = chosen.max_retries
        if chosen.guards is not None:
            self.guarded[msg.id] = chosen.guards

    def policy_of(self, msg: BusMessage, own: RetryPolicy) -> RetryPolicy:
        """The policy ``msg`` was pinned to, else the bus's ``own``."""
        return self.pinned.get(msg.id, own)

    def guards_of(self, msg: BusMessage) -> PairGuards | None:
        """The guards ``msg`` was pinned to, or None."""
        return self.guarded.get(msg.id) if self.guarded else None

    def restart(self) -> None:
        """The bus restarted: every pinned guard forgets its pairs' state."""
        for guards in {id(guards): guards for guards in self.guarded.values()}.values():
            guards.clear()
