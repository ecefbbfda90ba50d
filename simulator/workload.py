"""A cheap estimate of the work a run implies, before anything is built: how many intents
the scenario's traffic would send up to a virtual time.

Routes send Poisson arrivals at ``rate`` × the hour's daily-profile factor × the
multiplier of any burst on them; each quote workflow run sends about four intents (the
quote, the inventory check and the preflight through the bus, which relays it). The
estimate integrates the rates exactly; where bursts overlap it adds their extra traffic
instead of multiplying it, so it is an estimate, not a forecast.
"""

from __future__ import annotations

from typing import Final, Sequence

from simulator.scenario.model import Scenario

HOUR: Final[float] = 3600.0
DAY: Final[float] = 24 * HOUR
#: Intents one quote workflow run sends.
INTENTS_PER_QUOTE: Final[int] = 4


def profile_integral(profile: Sequence[float] | None, start: float, end: float) -> float:
    """∫ profile(t) dt over [start, end], profile(t) being the factor of t's hour of day
    (1 everywhere without a profile)."""
    if end <= start:
        return 0.0
    if profile is None:
        return end - start

    def upto(t: float) -> float:
        days, rest = divmod(t, DAY)
        hours, part = divmod(rest, HOUR)
        whole = int(hours)
        return days * sum(profile) * HOUR + sum(profile[:whole]) * HOUR + (profile[whole] * part if whole < 24 else 0)

    return upto(end) - upto(start)


def expected_intents(scenario: Scenario, until: float) -> float:
    """About how many intents the scenario's traffic sends in ``[0, until]``."""
    traffic = scenario.traffic
    profile = traffic.daily_profile
    base = profile_integral(profile, 0.0, until)
    total = 0.0
    for route in traffic.routes:
        sent = route.rate * base
        for burst in traffic.bursts:
            if burst.route == route.label:
                window = profile_integral(profile, min(burst.start, until), min(burst.start + burst.duration, until))
                sent += (burst.multiplier - 1) * route.rate * window
        total += sent
    for workflow in traffic.workflows:
        if workflow.at <= until:
            runs = workflow.count if workflow.every <= 0 else min(workflow.count,
                                                                  int((until - workflow.at) // workflow.every) + 1)
            total += INTENTS_PER_QUOTE * runs
    return total
